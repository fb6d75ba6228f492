// Endpoint `govgate` (routes under /govgate): the Directus app's window on the one gate.
//
// Reads are proxied to `govgate serve` on loopback (GOVGATE_SERVE_URL, default
// http://127.0.0.1:8765, 2 s timeout), for signed-in users only. Writes go through Directus's own
// ItemsService with the caller's accountability, so Directus checks the caller's policies and
// writes the activity and revision rows itself; the `govgate-guard` hook runs on them too.
//
//   GET  /govgate/status | proposal | gap | report | audit | verify   the JSON twins of govgate serve
//   GET  /govgate/me                                              who is asking, and whether they are the agent
//   GET  /govgate/payload?approval_id=…                           the canonical payload to sign, and its challenge
//   POST /govgate/approve  {approval_id, typed_id, assertion, payload?}
//                                                                 create the approval (with the signed statement
//                                                                 and not_after) and store its signature
//   GET  /govgate/passkeys                                        the caller's registered passkeys
//   POST /govgate/passkeys {credential_id, public_key, algorithm, client_data_json?}
import {
	AssertionRefusedError,
	InvalidInputError,
	PayloadRefusedError,
	ServeUnavailableError,
	SignInRequiredError,
	TypedIdMismatchError,
} from '../lib/errors.js';
import { askServe, serveUrl } from '../lib/serve.js';
import { isAgentUser, userOf } from '../lib/people.js';
import { isBase64url } from '../lib/b64.js';
import {
	checkClientData,
	checkFlags,
	challengeFor,
	parseAssertion,
	parsePublicKey,
	verifyAssertionSignature,
} from '../lib/webauthn.js';
import { createError } from '@directus/errors';

export const APPROVALS = 'os_proposal_approvals';
export const SIGNATURES = 'os_approval_signatures';
export const PASSKEYS = 'os_passkeys';

/** The read-only JSON twins of govgate serve that the endpoint relays, by route. */
const TWINS = {
	status: '/status.json',
	proposal: '/proposal.json',
	gap: '/gap.json',
	report: '/report.json',
	audit: '/audit.json',
	verify: '/verify.json',
};

const APPROVAL_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;
const STAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/; // how govgate dates a payload (UTC, seconds)
// How long ago the payload a person signed may have been made. The gate accepts an approval row made
// up to 10 minutes after its payload; the passkey prompt itself times out after 2.
const SIGNED_WITHIN_MS = 5 * 60 * 1000;
const MAX_PAYLOAD = 1 << 20;

/**
 * The payload the person signed, from the one govgate serve makes now (FRESH) and the TEXT the
 * module got from GET /payload a moment ago and had signed. govgate dates a payload when it makes
 * it, so the two may differ in `approved_at` and `not_after` only: anything else, a payload made
 * more than SIGNED_WITHIN_MS ago or a different validity is refused (409). The gate checks the
 * stored payload against the approval row again; this only keeps a stale or foreign one out.
 */
function signedOffer(fresh, text) {
	if (typeof text !== 'string' || text.length === 0 || text.length > MAX_PAYLOAD) {
		throw new InvalidInputError({ reason: 'payload must be the payload text you signed, as GET /govgate/payload gave it' });
	}
	if (text === fresh.payload) return fresh;
	const times = (payload) => {
		try {
			const predicate = JSON.parse(payload)?.predicate;
			return [predicate?.approved_at, predicate?.not_after];
		} catch {
			return [];
		}
	};
	const [freshAt, freshUntil] = times(fresh.payload);
	const [at, until] = times(text);
	const refuse = (why) => {
		throw new PayloadRefusedError({ reason: `${why}; nothing was created. Approve again: the page asks govgate for a new payload` });
	};
	if (![freshAt, freshUntil, at, until].every((stamp) => typeof stamp === 'string' && STAMP.test(stamp))) {
		refuse('the payload you signed is not the one govgate makes for this approval now');
	}
	const field = (name, value) => `"${name}":${JSON.stringify(value)}`;
	const expected = fresh.payload
		.replace(field('approved_at', freshAt), () => field('approved_at', at))
		.replace(field('not_after', freshUntil), () => field('not_after', until));
	if (expected !== text) {
		refuse('the payload you signed differs from the one govgate makes for this approval now (not only in its time)');
	}
	const age = Date.parse(freshAt) - Date.parse(at);
	if (age < -1000 || age > SIGNED_WITHIN_MS) {
		refuse(`the payload you signed was made at ${at}, more than ${SIGNED_WITHIN_MS / 60000} minutes ago (or later than now)`);
	}
	if (Date.parse(until) - Date.parse(at) !== Date.parse(freshUntil) - Date.parse(freshAt)) {
		refuse('the payload you signed has another validity than govgate gives this approval now');
	}
	const challenge = Buffer.from(challengeFor(text), 'base64url').toString('hex');
	return { ...fresh, payload: text, challenge, not_after: until };
}

const NotSetUpError = createError('GOVGATE_NOT_SET_UP', (extensions) => extensions.reason, 503);
const NotPermittedError = createError('GOVGATE_NOT_PERMITTED', (extensions) => extensions.reason, 403);

/** Directus's FORBIDDEN from ItemsService, said in govgate's words: what the caller's policies lack. */
async function asCaller(what, work) {
	try {
		return await work();
	} catch (error) {
		if (error?.code === 'FORBIDDEN') {
			throw new NotPermittedError({ reason: `your Directus policies do not allow this: ${what}. Nothing was written. (Directus: ${error.message})` });
		}
		throw error;
	}
}

/** Express 4 does not catch rejected promises: hand every error to Directus's error handler. */
const route = (handler) => (req, res, next) => {
	Promise.resolve()
		.then(() => handler(req, res, next))
		.catch(next);
};

function requireUser(req) {
	const user = userOf(req.accountability);
	if (!user) {
		throw new SignInRequiredError({ reason: 'sign in to Directus first: govgate answers signed-in users only' });
	}
	return user;
}

function requireCollections(req, ...names) {
	const missing = names.filter((name) => !req.schema?.collections?.[name]);
	if (missing.length > 0) {
		throw new NotSetUpError({
			reason: `Directus does not know the collection${missing.length > 1 ? 's' : ''} ${missing.join(', ')}: ` +
				'run `govgate init` on this database and clear the schema cache (POST /utils/cache/clear?system)',
		});
	}
}

/** govgate serve's error document, `{format_version, error: {kind, message, hint}}` (docs/JSON.md);
 * also the flat `{error, message, hint}` of a govgate older than format_version 1. */
function failureOf(body) {
	const error = body?.error;
	if (error && typeof error === 'object') return error;
	return { kind: error, message: body?.message, hint: body?.hint };
}

function send(res, status, body) {
	res.set('cache-control', 'no-store');
	res.status(status).json(body);
}

export default {
	id: 'govgate',
	handler: (router, context) => {
		const { services, env, database, logger } = context;
		const { ItemsService } = services;

		// ----------------------------------------------------------------- the gate's JSON twins
		for (const [name, path] of Object.entries(TWINS)) {
			router.get(`/${name}`, route(async (req, res) => {
				requireUser(req);
				let query = '';
				if (name === 'audit' && typeof req.query.limit === 'string' && /^(all|\d{1,6})$/.test(req.query.limit)) {
					query = `?limit=${req.query.limit}`;
				}
				const answer = await askServe(env, path + query);
				if (!answer.reachable) {
					send(res, 200, { status: 'UNKNOWN', reason: answer.reason, source: serveUrl(env) });
					return;
				}
				if (name === 'status' && (answer.status !== 200 || typeof answer.body?.status !== 'string')) {
					const why = failureOf(answer.body).message ?? `HTTP ${answer.status}`;
					send(res, 200, { status: 'UNKNOWN', reason: `govgate serve could not tell the gate's word: ${why}`, source: serveUrl(env) });
					return;
				}
				send(res, answer.status, answer.body);
			}));
		}

		// ----------------------------------------------------------------------------- who asks
		router.get('/me', route(async (req, res) => {
			const user = requireUser(req);
			const row = await database.select('email').from('directus_users').where({ id: user }).first();
			send(res, 200, {
				user,
				email: row?.email ?? null,
				admin: req.accountability?.admin === true,
				agent: await isAgentUser(env, database, user),
			});
		}));

		// ------------------------------------------------------------------- the payload to sign
		async function fetchPayload(approvalId, user) {
			const path = `/approval-payload.json?approval_id=${encodeURIComponent(approvalId)}&approver=${encodeURIComponent(user)}`;
			const answer = await askServe(env, path);
			if (!answer.reachable) throw new ServeUnavailableError({ reason: answer.reason });
			const body = answer.body ?? {};
			const failure = failureOf(body);
			if (answer.status === 404 && failure.kind === 'HTTPException') {
				throw new ServeUnavailableError({
					reason: `govgate serve at ${serveUrl(env)} has no /approval-payload.json: it is older than this extension; upgrade govgate and restart \`govgate serve\``,
				});
			}
			if (answer.status !== 200) {
				const why = [failure.message, failure.hint].filter(Boolean).join(' — ') || `HTTP ${answer.status}`;
				if (answer.status >= 500) throw new ServeUnavailableError({ reason: `govgate serve could not build the payload: ${why}` });
				throw new PayloadRefusedError({ reason: why });
			}
			if (typeof body.payload !== 'string' || body.payload.length === 0) {
				throw new ServeUnavailableError({ reason: 'govgate serve answered /approval-payload.json without a payload' });
			}
			let parsed = {};
			try {
				parsed = JSON.parse(body.payload);
			} catch {
				// The canonical payload is JSON; the fields below may still come beside it.
			}
			// `proposal` and `approval` since govgate's JSON format_version 1; `proposal_id`, `approval_id` before.
			const proposalId = body.proposal ?? body.proposal_id ?? parsed.proposal_id ?? parsed.proposal?.id ?? parsed.proposal;
			const proposalSha = body.proposal_sha256 ?? parsed.proposal_sha256 ?? parsed.proposal?.sha256;
			const challengeHex = Buffer.from(challengeFor(body.payload), 'base64url').toString('hex');
			if (body.challenge !== undefined && String(body.challenge).toLowerCase() !== challengeHex) {
				throw new ServeUnavailableError({ reason: 'govgate serve gave a challenge that is not the SHA-256 of its payload' });
			}
			if (typeof proposalId !== 'string' || typeof proposalSha !== 'string' || !SHA256_HEX.test(proposalSha)) {
				throw new ServeUnavailableError({ reason: 'govgate serve gave a payload without a proposal id and its SHA-256' });
			}
			const approval = body.approval ?? body.approval_id ?? parsed.approval_id ?? approvalId;
			if (approval !== approvalId) {
				throw new PayloadRefusedError({ reason: `govgate serve built a payload for approval ${approval}, not ${approvalId}` });
			}
			// The row must state what was signed: the statement and the expiry govgate put in the payload.
			const statement = typeof body.statement === 'string' ? body.statement : parsed.predicate?.statement;
			const notAfter = typeof body.not_after === 'string' ? body.not_after : parsed.predicate?.not_after;
			return {
				approval_id: approvalId,
				proposal_id: proposalId,
				proposal_sha256: proposalSha,
				statement: typeof statement === 'string' ? statement : null,
				not_after: typeof notAfter === 'string' && !Number.isNaN(Date.parse(notAfter)) ? notAfter : null,
				payload: body.payload,
				challenge: challengeHex,
				approver: user,
			};
		}

		function checkApprovalId(value, field = 'approval_id') {
			if (typeof value !== 'string' || !APPROVAL_ID.test(value)) {
				throw new InvalidInputError({ reason: `${field} must be an approval id such as APR-BOOT-AUTHMODEL-1 (letters, digits, . _ : -; at most 100)` });
			}
			return value;
		}

		router.get('/payload', route(async (req, res) => {
			const user = requireUser(req);
			const approvalId = checkApprovalId(req.query.approval_id);
			send(res, 200, await fetchPayload(approvalId, user));
		}));

		// ---------------------------------------------------------------------------- approving
		router.post('/approve', route(async (req, res) => {
			const user = requireUser(req);
			const body = req.body && typeof req.body === 'object' ? req.body : {};
			const approvalId = checkApprovalId(body.approval_id);
			if (body.typed_id !== approvalId) {
				throw new TypedIdMismatchError({
					reason: `the typed id ${JSON.stringify(body.typed_id ?? '')} is not the approval id ${approvalId}: type it exactly to approve; nothing was created`,
				});
			}
			let assertion;
			try {
				assertion = parseAssertion(body.assertion);
			} catch (error) {
				throw new InvalidInputError({ reason: error.message });
			}
			requireCollections(req, APPROVALS, SIGNATURES, PASSKEYS);

			// What govgate makes for this approval now; the person signed the one the page got a
			// moment ago (body.payload), which may differ from it in its time only.
			const fresh = await fetchPayload(approvalId, user);
			const signed = body.payload === undefined ? fresh : signedOffer(fresh, body.payload);
			let clientData;
			try {
				clientData = checkClientData(assertion.clientDataJSON, { type: 'webauthn.get', challenge: challengeFor(signed.payload) });
				checkFlags(assertion.authenticatorData);
			} catch (error) {
				throw new AssertionRefusedError({ reason: error.message });
			}

			// The passkey must be one this user registered, and its signature must hold.
			const asUser = { schema: req.schema, accountability: req.accountability };
			const passkeys = await asCaller(`approving needs read on ${PASSKEYS}`, () =>
				new ItemsService(PASSKEYS, asUser).readByQuery({
					filter: { credential_id: { _eq: assertion.credential_id }, user_id: { _eq: user } },
					fields: ['credential_id', 'public_key', 'algorithm'],
					limit: 1,
				}));
			if (passkeys.length === 0) {
				throw new AssertionRefusedError({ reason: 'this passkey is not registered for you: register it on the Governance page first' });
			}
			let key;
			try {
				key = parsePublicKey(passkeys[0].public_key, passkeys[0].algorithm);
			} catch (error) {
				throw new AssertionRefusedError({ reason: `your registered passkey is unusable: ${error.message}` });
			}
			if (!verifyAssertionSignature(key, assertion)) {
				throw new AssertionRefusedError({ reason: 'the passkey signature does not verify over this payload' });
			}

			// One transaction: the approval and its signature are created together or not at all.
			const statement = signed.statement ??
				`I ratify proposal ${signed.proposal_id} with hash ${signed.proposal_sha256}: the authorities named in it ` +
				'become accountable for exactly these collections and duties.';
			const needs = `approving needs create on ${APPROVALS} and on ${SIGNATURES}`;
			const created = await asCaller(needs, () => database.transaction(async (trx) => {
				const inTrx = { ...asUser, knex: trx };
				const approval = await new ItemsService(APPROVALS, inTrx).createOne({
					id: approvalId,
					proposal_id: signed.proposal_id,
					proposal_sha256: signed.proposal_sha256,
					statement,
					...(signed.not_after ? { not_after: signed.not_after } : {}),
				});
				const signature = await new ItemsService(SIGNATURES, inTrx).createOne({
					approval_id: approvalId,
					kind: 'webauthn',
					payload: signed.payload,
					signature: JSON.stringify({
						credential_id: assertion.credential_id,
						authenticatorData: assertion.authenticatorData,
						clientDataJSON: assertion.clientDataJSON,
						signature: assertion.signature,
						...(assertion.userHandle ? { userHandle: assertion.userHandle } : {}),
						algorithm: key.algorithm,
						origin: clientData.origin ?? null,
					}),
					created_by: user,
				});
				return { approval, signature };
			}));
			logger.info(`govgate: approval ${approvalId} for ${signed.proposal_id} created by user ${user} with a passkey`);
			send(res, 200, {
				approval_id: created.approval,
				signature_id: created.signature,
				proposal_id: signed.proposal_id,
				proposal_sha256: signed.proposal_sha256,
				challenge: signed.challenge,
			});
		}));

		// ----------------------------------------------------------------------------- passkeys
		router.get('/passkeys', route(async (req, res) => {
			const user = requireUser(req);
			requireCollections(req, PASSKEYS);
			const rows = await asCaller(`listing your passkeys needs read on ${PASSKEYS}`, () =>
				new ItemsService(PASSKEYS, { schema: req.schema, accountability: req.accountability }).readByQuery({
					filter: { user_id: { _eq: user } },
					fields: ['credential_id', 'algorithm', 'created_at'],
					sort: ['created_at'],
					limit: -1,
				}));
			send(res, 200, { data: rows });
		}));

		router.post('/passkeys', route(async (req, res) => {
			const user = requireUser(req);
			const body = req.body && typeof req.body === 'object' ? req.body : {};
			if (!isBase64url(body.credential_id, { min: 16, max: 1366 })) {
				throw new InvalidInputError({ reason: 'credential_id must be the credential\'s raw id in base64url' });
			}
			try {
				parsePublicKey(body.public_key, body.algorithm);
				if (body.client_data_json !== undefined) checkClientData(body.client_data_json, { type: 'webauthn.create' });
			} catch (error) {
				throw new InvalidInputError({ reason: error.message });
			}
			requireCollections(req, PASSKEYS);
			const id = await asCaller(`registering a passkey needs create on ${PASSKEYS}`, () =>
				new ItemsService(PASSKEYS, { schema: req.schema, accountability: req.accountability }).createOne({
					credential_id: body.credential_id,
					public_key: body.public_key,
					algorithm: Number(body.algorithm),
					user_id: user,
					created_at: new Date().toISOString(),
				}));
			logger.info(`govgate: passkey registered for user ${user}`);
			send(res, 200, {
				id,
				credential_id: body.credential_id,
				algorithm: Number(body.algorithm),
				note: 'This passkey counts only once an operator adds it to the allowed signers file ([approvals] allowed_signers).',
			});
		}));
	},
};
