// The browser side of passkeys: WebAuthn calls and their base64url encoding.
// Nothing here talks to anything but the browser's authenticator and the Directus API.

export const ALGORITHMS = [
	{ type: 'public-key', alg: -7 }, // ES256
	{ type: 'public-key', alg: -8 }, // EdDSA
	{ type: 'public-key', alg: -257 }, // RS256
];

export function toBase64url(buffer) {
	const bytes = buffer instanceof Uint8Array ? buffer : new Uint8Array(buffer);
	let text = '';
	for (const byte of bytes) text += String.fromCharCode(byte);
	return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function fromBase64url(text) {
	const base64 = text.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((text.length + 3) % 4);
	const raw = atob(base64);
	const bytes = new Uint8Array(raw.length);
	for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
	return bytes;
}

export function hexToBytes(hex) {
	const bytes = new Uint8Array(hex.length / 2);
	for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
	return bytes;
}

export async function sha256(text) {
	return new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
}

export function bytesToHex(bytes) {
	return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Why passkeys cannot work on this page, or null when they can. */
export function passkeyObstacle() {
	if (typeof window === 'undefined' || !window.PublicKeyCredential || !navigator.credentials) {
		return 'This browser has no passkey support (WebAuthn).';
	}
	if (!window.isSecureContext) {
		return 'Passkeys need a secure page: open Directus over https (or on localhost).';
	}
	const host = location.hostname;
	if (/^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(':')) {
		return `Passkeys need a host name, not an IP address (${host}): open Directus by its name, e.g. http://localhost:${location.port || 80}${location.pathname}.`;
	}
	return null;
}

/** navigator.credentials.create for USER ({id, email}); returns the body for POST /govgate/passkeys. */
export async function createPasskey(user, existingIds = []) {
	const credential = await navigator.credentials.create({
		publicKey: {
			challenge: crypto.getRandomValues(new Uint8Array(32)),
			rp: { id: location.hostname, name: 'govgate' },
			user: { id: new TextEncoder().encode(user.id), name: user.email || user.id, displayName: user.email || user.id },
			pubKeyCredParams: ALGORITHMS,
			authenticatorSelection: { userVerification: 'required', residentKey: 'preferred' },
			excludeCredentials: existingIds.map((id) => ({ type: 'public-key', id: fromBase64url(id) })),
			attestation: 'none',
			timeout: 120000,
		},
	});
	if (!credential) throw new Error('no passkey was made');
	const response = credential.response;
	if (typeof response.getPublicKey !== 'function' || typeof response.getPublicKeyAlgorithm !== 'function') {
		throw new Error('this browser cannot export the new passkey\'s public key (getPublicKey): use a current browser');
	}
	const spki = response.getPublicKey();
	if (!spki) throw new Error('the passkey uses an algorithm this browser cannot export');
	return {
		credential_id: toBase64url(credential.rawId),
		public_key: toBase64url(spki),
		algorithm: response.getPublicKeyAlgorithm(),
		client_data_json: toBase64url(response.clientDataJSON),
	};
}

/** navigator.credentials.get over CHALLENGE (bytes); returns the assertion for POST /govgate/approve. */
export async function signWithPasskey(challenge, credentialIds) {
	const credential = await navigator.credentials.get({
		publicKey: {
			challenge,
			allowCredentials: credentialIds.map((id) => ({ type: 'public-key', id: fromBase64url(id) })),
			userVerification: 'required',
			rpId: location.hostname,
			timeout: 120000,
		},
	});
	if (!credential) throw new Error('the passkey did not sign');
	const response = credential.response;
	return {
		id: toBase64url(credential.rawId),
		type: credential.type,
		response: {
			authenticatorData: toBase64url(response.authenticatorData),
			clientDataJSON: toBase64url(response.clientDataJSON),
			signature: toBase64url(response.signature),
			...(response.userHandle ? { userHandle: toBase64url(response.userHandle) } : {}),
		},
	};
}
