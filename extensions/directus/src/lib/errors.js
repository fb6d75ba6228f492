// The errors the bundle throws. createError (from @directus/errors, bundled into dist/api.js) makes
// classes named "DirectusError": Directus's error handler answers them with their status and
// `{"errors": [{"message", "extensions": {"code", ...}}]}`, like its own errors.
import { createError } from '@directus/errors';

const reason = (extensions) => extensions.reason;

/** An approval (or its signature) made by nobody or by the agent's Directus user. */
export const ApprovalRefusedError = createError('GOVGATE_APPROVAL_REFUSED', reason, 403);

/** Approvals and their signatures are evidence: never edited, never deleted. */
export const ApprovalImmutableError = createError('GOVGATE_APPROVAL_IMMUTABLE', reason, 403);

/** A passkey registered for another user, or by nobody. */
export const PasskeyRefusedError = createError('GOVGATE_PASSKEY_REFUSED', reason, 403);

/** The request has no signed-in Directus user. */
export const SignInRequiredError = createError('GOVGATE_SIGN_IN_REQUIRED', reason, 401);

/** Bad input: the typed approval id, a malformed assertion or passkey. */
export const InvalidInputError = createError('GOVGATE_INVALID_INPUT', reason, 400);

/** The typed approval id is not the approval id: nothing was created. */
export const TypedIdMismatchError = createError('GOVGATE_TYPED_ID_MISMATCH', reason, 400);

/** The passkey assertion does not sign this payload, or not with this user's passkey. */
export const AssertionRefusedError = createError('GOVGATE_ASSERTION_REFUSED', reason, 400);

/** govgate serve refused to build a payload (unknown approval id, no proposal...). */
export const PayloadRefusedError = createError('GOVGATE_PAYLOAD_REFUSED', reason, 409);

/** govgate serve is not running, not on loopback, or too old to build approval payloads. */
export const ServeUnavailableError = createError('GOVGATE_SERVE_UNAVAILABLE', reason, 503);
