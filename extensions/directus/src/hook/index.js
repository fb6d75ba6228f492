// Hook `govgate-guard`: defence in depth around approvals, inside Directus.
//
// - An approval (os_proposal_approvals) or an approval signature (os_approval_signatures) is
//   created only by a signed-in Directus user who is not the agent's (env GOVGATE_AGENT_USER: ids
//   or e-mails, comma-separated). Otherwise: 403 GOVGATE_APPROVAL_REFUSED.
// - Approvals and signatures are evidence: every update and delete through Directus is refused
//   (403 GOVGATE_APPROVAL_IMMUTABLE). A wrong approval is left unused; a new one is made instead.
// - A passkey (os_passkeys) is registered by its own user only (403 GOVGATE_PASSKEY_REFUSED).
//
// The gate stays the authority: it checks directus_activity itself, and a hook sees neither plain
// SQL writes nor a Directus whose admin removed the extension.
import { ApprovalImmutableError, ApprovalRefusedError, PasskeyRefusedError } from '../lib/errors.js';
import { agentUsers, isAgentUser, userOf } from '../lib/people.js';

const APPROVALS = 'os_proposal_approvals';
const SIGNATURES = 'os_approval_signatures';
const PASSKEYS = 'os_passkeys';
const WHAT = { [APPROVALS]: 'an approval', [SIGNATURES]: 'an approval signature' };

// A hook is a function (Directus calls it with the register functions and the context).
export default function registerGuard({ filter }, { env, logger }) {
	if (agentUsers(env).length === 0) {
		logger.warn('govgate-guard: GOVGATE_AGENT_USER is not set, so approvals by the agent\'s Directus user cannot be refused here (the gate still refuses them)');
	}

	const refuseCreate = (collection) => async (payload, _meta, { accountability, database }) => {
		const what = WHAT[collection];
		const user = userOf(accountability);
		if (!user) {
			throw new ApprovalRefusedError({
				reason: `${what} must be made by a signed-in person through Directus; this request has no Directus user`,
				collection,
			});
		}
		if (await isAgentUser(env, database, user)) {
			throw new ApprovalRefusedError({
				reason: `the agent's Directus user may not make ${what}: a human approves, the agent only applies`,
				collection,
			});
		}
		const items = Array.isArray(payload) ? payload : [payload];
		for (const item of items) {
			const field = collection === APPROVALS ? 'approved_by' : 'created_by';
			if (item && item[field] !== undefined && item[field] !== null && item[field] !== user) {
				throw new ApprovalRefusedError({
					reason: `${field} is filled by Directus with the user who makes ${what}; it cannot name someone else`,
					collection,
				});
			}
			if (collection === SIGNATURES) {
				// A signature belongs to an approval its signer made (the same transaction sees it).
				const approval = await database.select('approved_by').from(APPROVALS).where({ id: item?.approval_id ?? null }).first();
				if (!approval || String(approval.approved_by) !== user) {
					throw new ApprovalRefusedError({
						reason: `a signature can only be added to an approval you made yourself; ${JSON.stringify(item?.approval_id ?? null)} is not one`,
						collection,
					});
				}
			}
		}
		return payload;
	};

	const refuseChange = (collection, action) => async () => {
		throw new ApprovalImmutableError({
			reason: `${WHAT[collection]} cannot be ${action === 'update' ? 'edited' : 'deleted'}: approvals are evidence. ` +
				'An approval that should not count is left unused (or expires); make a new one instead',
			collection,
		});
	};

	for (const collection of [APPROVALS, SIGNATURES]) {
		filter(`${collection}.items.create`, refuseCreate(collection));
		filter(`${collection}.items.update`, refuseChange(collection, 'update'));
		filter(`${collection}.items.delete`, refuseChange(collection, 'delete'));
	}

	filter(`${PASSKEYS}.items.create`, async (payload, _meta, { accountability }) => {
		const user = userOf(accountability);
		if (!user) {
			throw new PasskeyRefusedError({ reason: 'a passkey is registered by a signed-in person through Directus', collection: PASSKEYS });
		}
		const items = Array.isArray(payload) ? payload : [payload];
		for (const item of items) {
			if (item && item.user_id !== undefined && item.user_id !== user) {
				throw new PasskeyRefusedError({ reason: 'a passkey can only be registered for yourself', collection: PASSKEYS });
			}
		}
		return Array.isArray(payload) ? items.map((item) => ({ ...item, user_id: user })) : { ...payload, user_id: user };
	});
	filter(`${PASSKEYS}.items.update`, async () => {
		throw new PasskeyRefusedError({ reason: 'a registered passkey cannot be edited; register a new one instead', collection: PASSKEYS });
	});
}
