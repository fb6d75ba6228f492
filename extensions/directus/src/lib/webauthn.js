// WebAuthn checks the endpoint makes before it stores anything. They are a first line only: the
// gate (govgate, in Python) verifies every signature again against the allowed signers file,
// which lives outside the database.
import { createHash, createPublicKey, verify } from 'node:crypto';
import { fromBase64url, isBase64url, toBase64url } from './b64.js';

/** COSE algorithm ids the bundle accepts, and what the key must be for each. */
export const ALGORITHMS = {
	'-7': { name: 'ES256', keyType: 'ec', curve: 'prime256v1', digest: 'sha256' },
	'-8': { name: 'EdDSA', keyType: 'ed25519', digest: null },
	'-257': { name: 'RS256', keyType: 'rsa', minBits: 2048, digest: 'sha256' },
};

const FLAG_USER_PRESENT = 0x01;
const FLAG_USER_VERIFIED = 0x04;

export function sha256(bytes) {
	return createHash('sha256').update(bytes).digest();
}

/** The WebAuthn challenge for a payload: the SHA-256 of its UTF-8 bytes, base64url. */
export function challengeFor(payloadText) {
	return toBase64url(sha256(Buffer.from(payloadText, 'utf8')));
}

/**
 * A public key as the browser gives it (`AuthenticatorAttestationResponse.getPublicKey()`:
 * SubjectPublicKeyInfo, DER, base64url) checked against its COSE algorithm id.
 * Returns `{key, algorithm}` or throws an Error with a plain message.
 */
export function parsePublicKey(spkiB64url, algorithm) {
	const alg = ALGORITHMS[String(algorithm)];
	if (!alg) throw new Error(`algorithm must be one of -7 (ES256), -8 (EdDSA), -257 (RS256), not ${JSON.stringify(algorithm)}`);
	if (!isBase64url(spkiB64url, { min: 40, max: 4096 })) throw new Error('public_key must be the SubjectPublicKeyInfo (DER) in base64url');
	let key;
	try {
		key = createPublicKey({ key: fromBase64url(spkiB64url), format: 'der', type: 'spki' });
	} catch (error) {
		throw new Error(`public_key is not a SubjectPublicKeyInfo: ${error.message}`);
	}
	if (key.asymmetricKeyType !== alg.keyType) {
		throw new Error(`public_key is an ${key.asymmetricKeyType} key, but algorithm ${algorithm} (${alg.name}) needs ${alg.keyType}`);
	}
	const details = key.asymmetricKeyDetails ?? {};
	if (alg.curve && details.namedCurve !== alg.curve) throw new Error(`an ${alg.name} key must be on P-256, not ${details.namedCurve}`);
	if (alg.minBits && !(details.modulusLength >= alg.minBits)) throw new Error(`an ${alg.name} key must have at least ${alg.minBits} bits`);
	return { key, algorithm: Number(algorithm) };
}

/**
 * The assertion posted by the module (a PublicKeyCredential from navigator.credentials.get, its
 * binary fields in base64url), normalised. Throws an Error with a plain message when malformed.
 */
export function parseAssertion(assertion) {
	if (!assertion || typeof assertion !== 'object') throw new Error('assertion is missing');
	const response = assertion.response && typeof assertion.response === 'object' ? assertion.response : assertion;
	const out = {
		credential_id: assertion.id ?? assertion.credential_id ?? assertion.rawId,
		authenticatorData: response.authenticatorData,
		clientDataJSON: response.clientDataJSON,
		signature: response.signature,
	};
	if (assertion.type !== undefined && assertion.type !== 'public-key') throw new Error('assertion.type must be "public-key"');
	for (const [name, value] of Object.entries(out)) {
		if (!isBase64url(value, { max: 65536 })) throw new Error(`assertion ${name} must be a base64url string`);
	}
	if (response.userHandle !== undefined && response.userHandle !== null) {
		if (!isBase64url(response.userHandle, { min: 0, max: 1024 })) throw new Error('assertion userHandle must be base64url');
		out.userHandle = response.userHandle;
	}
	return out;
}

/** clientDataJSON (base64url) decoded and checked: its type and challenge. Returns the parsed object. */
export function checkClientData(clientDataB64url, { type, challenge }) {
	let data;
	try {
		data = JSON.parse(fromBase64url(clientDataB64url).toString('utf8'));
	} catch {
		throw new Error('clientDataJSON is not JSON');
	}
	if (data?.type !== type) throw new Error(`clientDataJSON.type is ${JSON.stringify(data?.type)}, expected "${type}"`);
	if (challenge !== undefined && data.challenge !== challenge) {
		throw new Error('the passkey signed another challenge than the SHA-256 of this approval payload');
	}
	return data;
}

/** The authenticator flags: user present and user verified are both required. */
export function checkFlags(authenticatorDataB64url) {
	const bytes = fromBase64url(authenticatorDataB64url);
	if (bytes.length < 37) throw new Error('authenticatorData is too short');
	const flags = bytes[32];
	if (!(flags & FLAG_USER_PRESENT)) throw new Error('the authenticator did not see the user (UP flag missing)');
	if (!(flags & FLAG_USER_VERIFIED)) throw new Error('the authenticator did not verify the user (UV flag missing): a PIN or biometric is required');
	return { rpIdHash: bytes.subarray(0, 32), flags, signCount: bytes.readUInt32BE(33) };
}

/** True when SIGNATURE (base64url) signs authenticatorData || SHA-256(clientDataJSON) under the key. */
export function verifyAssertionSignature({ key, algorithm }, { authenticatorData, clientDataJSON, signature }) {
	const alg = ALGORITHMS[String(algorithm)];
	const signed = Buffer.concat([fromBase64url(authenticatorData), sha256(fromBase64url(clientDataJSON))]);
	const sig = fromBase64url(signature);
	try {
		if (alg.keyType === 'ec') return verify(alg.digest, signed, { key, dsaEncoding: 'der' }, sig);
		return verify(alg.digest, signed, key, sig);
	} catch {
		return false;
	}
}
