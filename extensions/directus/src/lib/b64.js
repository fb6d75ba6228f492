// base64url without padding, as WebAuthn uses it.
const BASE64URL = /^[A-Za-z0-9_-]*$/;

export function isBase64url(value, { min = 1, max = 1 << 20 } = {}) {
	return typeof value === 'string' && value.length >= min && value.length <= max && BASE64URL.test(value);
}

export function fromBase64url(value) {
	return Buffer.from(value, 'base64url');
}

export function toBase64url(bytes) {
	return Buffer.from(bytes).toString('base64url');
}
