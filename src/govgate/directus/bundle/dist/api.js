import { createPublicKey, verify, createHash } from 'node:crypto';

function getDefaultExportFromCjs (x) {
	return x && x.__esModule && Object.prototype.hasOwnProperty.call(x, 'default') ? x['default'] : x;
}

/**
 * Helpers.
 */

var ms$1;
var hasRequiredMs;

function requireMs () {
	if (hasRequiredMs) return ms$1;
	hasRequiredMs = 1;
	var s = 1000;
	var m = s * 60;
	var h = m * 60;
	var d = h * 24;
	var w = d * 7;
	var y = d * 365.25;

	/**
	 * Parse or format the given `val`.
	 *
	 * Options:
	 *
	 *  - `long` verbose formatting [false]
	 *
	 * @param {String|Number} val
	 * @param {Object} [options]
	 * @throws {Error} throw an error if val is not a non-empty string or a number
	 * @return {String|Number}
	 * @api public
	 */

	ms$1 = function (val, options) {
	  options = options || {};
	  var type = typeof val;
	  if (type === 'string' && val.length > 0) {
	    return parse(val);
	  } else if (type === 'number' && isFinite(val)) {
	    return options.long ? fmtLong(val) : fmtShort(val);
	  }
	  throw new Error(
	    'val is not a non-empty string or a valid number. val=' +
	      JSON.stringify(val)
	  );
	};

	/**
	 * Parse the given `str` and return milliseconds.
	 *
	 * @param {String} str
	 * @return {Number}
	 * @api private
	 */

	function parse(str) {
	  str = String(str);
	  if (str.length > 100) {
	    return;
	  }
	  var match = /^(-?(?:\d+)?\.?\d+) *(milliseconds?|msecs?|ms|seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d|weeks?|w|years?|yrs?|y)?$/i.exec(
	    str
	  );
	  if (!match) {
	    return;
	  }
	  var n = parseFloat(match[1]);
	  var type = (match[2] || 'ms').toLowerCase();
	  switch (type) {
	    case 'years':
	    case 'year':
	    case 'yrs':
	    case 'yr':
	    case 'y':
	      return n * y;
	    case 'weeks':
	    case 'week':
	    case 'w':
	      return n * w;
	    case 'days':
	    case 'day':
	    case 'd':
	      return n * d;
	    case 'hours':
	    case 'hour':
	    case 'hrs':
	    case 'hr':
	    case 'h':
	      return n * h;
	    case 'minutes':
	    case 'minute':
	    case 'mins':
	    case 'min':
	    case 'm':
	      return n * m;
	    case 'seconds':
	    case 'second':
	    case 'secs':
	    case 'sec':
	    case 's':
	      return n * s;
	    case 'milliseconds':
	    case 'millisecond':
	    case 'msecs':
	    case 'msec':
	    case 'ms':
	      return n;
	    default:
	      return undefined;
	  }
	}

	/**
	 * Short format for `ms`.
	 *
	 * @param {Number} ms
	 * @return {String}
	 * @api private
	 */

	function fmtShort(ms) {
	  var msAbs = Math.abs(ms);
	  if (msAbs >= d) {
	    return Math.round(ms / d) + 'd';
	  }
	  if (msAbs >= h) {
	    return Math.round(ms / h) + 'h';
	  }
	  if (msAbs >= m) {
	    return Math.round(ms / m) + 'm';
	  }
	  if (msAbs >= s) {
	    return Math.round(ms / s) + 's';
	  }
	  return ms + 'ms';
	}

	/**
	 * Long format for `ms`.
	 *
	 * @param {Number} ms
	 * @return {String}
	 * @api private
	 */

	function fmtLong(ms) {
	  var msAbs = Math.abs(ms);
	  if (msAbs >= d) {
	    return plural(ms, msAbs, d, 'day');
	  }
	  if (msAbs >= h) {
	    return plural(ms, msAbs, h, 'hour');
	  }
	  if (msAbs >= m) {
	    return plural(ms, msAbs, m, 'minute');
	  }
	  if (msAbs >= s) {
	    return plural(ms, msAbs, s, 'second');
	  }
	  return ms + ' ms';
	}

	/**
	 * Pluralization helper.
	 */

	function plural(ms, msAbs, n, name) {
	  var isPlural = msAbs >= n * 1.5;
	  return Math.round(ms / n) + ' ' + name + (isPlural ? 's' : '');
	}
	return ms$1;
}

var msExports = requireMs();
var ms = /*@__PURE__*/getDefaultExportFromCjs(msExports);

//#region src/create-error.ts
const createError = (code, message, status = 500) => {
	return class extends Error {
		name = "DirectusError";
		extensions;
		code = code.toUpperCase();
		status = status;
		constructor(extensions, options) {
			const msg = typeof message === "string" ? message : message(extensions);
			super(msg, options);
			this.extensions = extensions;
		}
		toString() {
			return `${this.name} [${this.code}]: ${this.message}`;
		}
	};
};

//#endregion
//#region src/codes.ts
let ErrorCode = /* @__PURE__ */ function(ErrorCode$1) {
	ErrorCode$1["AddonNotAvailable"] = "ADDON_NOT_AVAILABLE";
	ErrorCode$1["AddonNotFound"] = "ADDON_NOT_FOUND";
	ErrorCode$1["AddonQuantityOutOfRange"] = "ADDON_QUANTITY_OUT_OF_RANGE";
	ErrorCode$1["CollectionInactive"] = "COLLECTION_INACTIVE";
	ErrorCode$1["ContainsNullValues"] = "CONTAINS_NULL_VALUES";
	ErrorCode$1["ContentTooLarge"] = "CONTENT_TOO_LARGE";
	ErrorCode$1["EmailLimitExceeded"] = "EMAIL_LIMIT_EXCEEDED";
	ErrorCode$1["Forbidden"] = "FORBIDDEN";
	ErrorCode$1["IllegalAssetTransformation"] = "ILLEGAL_ASSET_TRANSFORMATION";
	ErrorCode$1["ImportCyclicalRelation"] = "IMPORT_CYCLICAL_RELATION";
	ErrorCode$1["Internal"] = "INTERNAL_SERVER_ERROR";
	ErrorCode$1["InvalidCredentials"] = "INVALID_CREDENTIALS";
	ErrorCode$1["InvalidForeignKey"] = "INVALID_FOREIGN_KEY";
	ErrorCode$1["InvalidInvite"] = "INVALID_INVITE";
	ErrorCode$1["InvalidIp"] = "INVALID_IP";
	ErrorCode$1["InvalidOtp"] = "INVALID_OTP";
	ErrorCode$1["InvalidPayload"] = "INVALID_PAYLOAD";
	ErrorCode$1["InvalidPathParameter"] = "INVALID_PATH_PARAMETER";
	ErrorCode$1["InvalidProvider"] = "INVALID_PROVIDER";
	ErrorCode$1["InvalidProviderConfig"] = "INVALID_PROVIDER_CONFIG";
	ErrorCode$1["InvalidQuery"] = "INVALID_QUERY";
	ErrorCode$1["InvalidToken"] = "INVALID_TOKEN";
	ErrorCode$1["LicenseInvalid"] = "LICENSE_INVALID";
	ErrorCode$1["LicenseManagedByEnv"] = "LICENSE_MANAGED_BY_ENV";
	ErrorCode$1["LicenseOfflineUnsupported"] = "LICENSE_OFFLINE_UNSUPPORTED";
	ErrorCode$1["LicenseResolveIncomplete"] = "LICENSE_RESOLVE_INCOMPLETE";
	ErrorCode$1["LicenseServiceUnavailable"] = "LICENSE_SERVICE_UNAVAILABLE";
	ErrorCode$1["LimitExceeded"] = "LIMIT_EXCEEDED";
	ErrorCode$1["MethodNotAllowed"] = "METHOD_NOT_ALLOWED";
	ErrorCode$1["NotNullViolation"] = "NOT_NULL_VIOLATION";
	ErrorCode$1["OutOfDate"] = "OUT_OF_DATE";
	ErrorCode$1["OutOfTime"] = "OUT_OF_TIME";
	ErrorCode$1["RangeNotSatisfiable"] = "RANGE_NOT_SATISFIABLE";
	ErrorCode$1["RecordNotUnique"] = "RECORD_NOT_UNIQUE";
	ErrorCode$1["ResourceRestricted"] = "RESOURCE_RESTRICTED";
	ErrorCode$1["RequestsExceeded"] = "REQUESTS_EXCEEDED";
	ErrorCode$1["RouteNotFound"] = "ROUTE_NOT_FOUND";
	ErrorCode$1["ServiceUnavailable"] = "SERVICE_UNAVAILABLE";
	ErrorCode$1["TokenExpired"] = "TOKEN_EXPIRED";
	ErrorCode$1["UnexpectedResponse"] = "UNEXPECTED_RESPONSE";
	ErrorCode$1["UnprocessableContent"] = "UNPROCESSABLE_CONTENT";
	ErrorCode$1["UnsupportedMediaType"] = "UNSUPPORTED_MEDIA_TYPE";
	ErrorCode$1["UserSuspended"] = "USER_SUSPENDED";
	ErrorCode$1["ValueOutOfRange"] = "VALUE_OUT_OF_RANGE";
	ErrorCode$1["ValueTooLong"] = "VALUE_TOO_LONG";
	ErrorCode$1["VersionHashMismatch"] = "VERSION_HASH_MISMATCH";
	return ErrorCode$1;
}({});

//#endregion
//#region src/errors/addon-not-available.ts
const messageConstructor$32 = () => `Addon exists but is not available on the current plan.`;
createError(ErrorCode.AddonNotAvailable, messageConstructor$32, 409);

//#endregion
//#region src/errors/addon-not-found.ts
const messageConstructor$31 = () => `Addon id is not in the catalog for the current subscription.`;
createError(ErrorCode.AddonNotFound, messageConstructor$31, 404);

//#endregion
//#region src/errors/addon-quantity-out-of-range.ts
const messageConstructor$30 = () => `Quantity is outside the allowed range for this addon.`;
createError(ErrorCode.AddonQuantityOutOfRange, messageConstructor$30, 422);

//#endregion
//#region src/errors/collection-inactive.ts
const messageConstructor$29 = ({ collection }) => {
	return `Collection "${collection}" is inactive.`;
};
createError(ErrorCode.CollectionInactive, messageConstructor$29, 403);

//#endregion
//#region src/errors/contains-null-values.ts
const messageConstructor$28 = ({ collection, field }) => `Field "${field}" in collection "${collection}" contains null values.`;
createError(ErrorCode.ContainsNullValues, messageConstructor$28, 400);

//#endregion
//#region src/errors/content-too-large.ts
createError(ErrorCode.ContentTooLarge, "Uploaded content is too large.", 413);

//#endregion
//#region src/errors/email-limit-exceeded.ts
const messageConstructor$27 = (extensions) => {
	const message = ["Email sending limit exceeded."];
	if (typeof extensions.points === "number" && typeof extensions.duration === "number") {
		const duration = ms(extensions.duration * 1e3, { long: true });
		const plural = extensions.points !== 1 ? "s" : "";
		message.push(`Limit of ${extensions.points} email${plural} every ${duration}.`);
	}
	if (extensions.message) message.push(extensions.message);
	return message.join(" ");
};
createError(ErrorCode.EmailLimitExceeded, messageConstructor$27, 429);

//#endregion
//#region src/errors/forbidden.ts
const messageConstructor$26 = (ext) => {
	if (ext?.reason) return ext.reason;
	return `You don't have permission to access this.`;
};
createError(ErrorCode.Forbidden, messageConstructor$26, 403);

//#endregion
//#region src/errors/hit-rate-limit.ts
const messageConstructor$25 = (extensions) => {
	return `Too many requests, retry after ${ms(extensions.reset.getTime() - Date.now())}.`;
};
createError(ErrorCode.RequestsExceeded, messageConstructor$25, 429);

//#endregion
//#region src/errors/illegal-asset-transformation.ts
createError(ErrorCode.IllegalAssetTransformation, "Illegal asset transformation.", 400);

//#endregion
//#region src/errors/import-cyclical-relation.ts
const messageConstructor$24 = ({ collections }) => `Can't import collections [${collections.join(", ")}] because they form a relational cycle with only non-nullable foreign keys.`;
createError(ErrorCode.ImportCyclicalRelation, messageConstructor$24, 422);

//#endregion
//#region src/errors/internal.ts
createError(ErrorCode.Internal, `An unexpected error occurred.`);

//#endregion
//#region src/errors/invalid-credentials.ts
createError(ErrorCode.InvalidCredentials, "Invalid user credentials.", 401);

//#endregion
//#region src/errors/invalid-foreign-key.ts
const messageConstructor$23 = ({ collection, field, value, constraint }) => {
	let message = "Invalid foreign key";
	if (value) message += ` "${value}"`;
	if (field) message += ` for field "${field}"`;
	if (collection) message += ` in collection "${collection}"`;
	if (constraint && !field && !collection) message += ` for constraint "${constraint}"`;
	message += `.`;
	return message;
};
createError(ErrorCode.InvalidForeignKey, messageConstructor$23, 400);

//#endregion
//#region src/errors/invalid-invite.ts
createError(ErrorCode.InvalidInvite, () => `This invite is no longer valid.`, 400);

//#endregion
//#region src/errors/invalid-ip.ts
createError(ErrorCode.InvalidIp, "Invalid IP address.", 401);

//#endregion
//#region src/errors/invalid-otp.ts
createError(ErrorCode.InvalidOtp, "Invalid user OTP.", 401);

//#endregion
//#region src/errors/invalid-payload.ts
const messageConstructor$22 = ({ reason }) => `Invalid payload. ${reason}.`;
createError(ErrorCode.InvalidPayload, messageConstructor$22, 400);

//#endregion
//#region src/errors/invalid-path-parameter.ts
const messageConstructor$21 = ({ reason }) => `Invalid path parameter. ${reason}.`;
createError(ErrorCode.InvalidPathParameter, messageConstructor$21, 400);

//#endregion
//#region src/errors/invalid-provider-config.ts
createError(ErrorCode.InvalidProviderConfig, "Invalid config.", 503);

//#endregion
//#region src/errors/invalid-provider.ts
createError(ErrorCode.InvalidProvider, "Invalid provider.", 403);

//#endregion
//#region src/errors/invalid-query.ts
const messageConstructor$20 = ({ reason }) => `Invalid query. ${reason}.`;
createError(ErrorCode.InvalidQuery, messageConstructor$20, 400);

//#endregion
//#region src/errors/invalid-token.ts
createError(ErrorCode.InvalidToken, "Invalid token.", 403);

//#endregion
//#region src/errors/license-invalid.ts
const messageConstructor$19 = () => `License key cannot be applied (not found, expired, canceled, already bound elsewhere, malformed).`;
createError(ErrorCode.LicenseInvalid, messageConstructor$19, 400);

//#endregion
//#region src/errors/license-managed-by-env.ts
const messageConstructor$18 = () => `The license is managed via the environment and cannot be modified from the UI.`;
createError(ErrorCode.LicenseManagedByEnv, messageConstructor$18, 409);

//#endregion
//#region src/errors/license-offline-unsupported.ts
const messageConstructor$17 = () => `Operation requires the licensing service and is not available in offline mode.`;
createError(ErrorCode.LicenseOfflineUnsupported, messageConstructor$17, 409);

//#endregion
//#region src/errors/license-resolve-incomplete.ts
const messageConstructor$16 = () => `After applying, the instance is still over limits. Refresh the assessment and retry.`;
createError(ErrorCode.LicenseResolveIncomplete, messageConstructor$16, 422);

//#endregion
//#region src/errors/license-service-unavailable.ts
const messageConstructor$15 = () => `Licensing service is unreachable.`;
createError(ErrorCode.LicenseServiceUnavailable, messageConstructor$15, 503);

//#endregion
//#region src/errors/limit-exceeded.ts
const messageConstructor$14 = ({ category }) => {
	return `${category} limit exceeded.`;
};
createError(ErrorCode.LimitExceeded, messageConstructor$14, 403);

//#endregion
//#region src/errors/method-not-allowed.ts
const messageConstructor$13 = (extensions) => `Invalid method "${extensions.current}" used. Should be one of ${extensions.allowed.map((method) => `"${method}"`).join(", ")}.`;
createError(ErrorCode.MethodNotAllowed, messageConstructor$13, 405);

//#endregion
//#region src/errors/not-null-violation.ts
const messageConstructor$12 = ({ collection, field }) => {
	let message = "Value ";
	if (field) message += `for field "${field}" `;
	if (collection) message += `in collection "${collection}" `;
	message += `can't be null.`;
	return message;
};
createError(ErrorCode.NotNullViolation, messageConstructor$12, 400);

//#endregion
//#region src/errors/out-of-date.ts
createError(ErrorCode.OutOfDate, "Operation could not be executed: Your current instance of Directus is out of date.", 503);

//#endregion
//#region src/errors/range-not-satisfiable.ts
const messageConstructor$11 = ({ range }) => {
	return `Range ${`"${range.start ?? ""}-${range.end ?? ""}"`} is invalid or the file's size doesn't match the requested range.`;
};
createError(ErrorCode.RangeNotSatisfiable, messageConstructor$11, 416);

//#endregion
//#region src/errors/record-not-unique.ts
const messageConstructor$10 = ({ collection, field, value }) => {
	let message = "Value ";
	if (value) message += `"${value}" `;
	if (field) message += `for field "${field}" `;
	if (collection) message += `in collection "${collection}" `;
	message += `has to be unique.`;
	return message;
};
createError(ErrorCode.RecordNotUnique, messageConstructor$10, 400);

//#endregion
//#region src/errors/route-not-found.ts
const messageConstructor$9 = ({ path }) => `Route ${path} doesn't exist.`;
createError(ErrorCode.RouteNotFound, messageConstructor$9, 404);

//#endregion
//#region src/errors/service-unavailable.ts
const messageConstructor$8 = ({ service, reason }) => `Service "${service}" is unavailable. ${reason}.`;
createError(ErrorCode.ServiceUnavailable, messageConstructor$8, 503);

//#endregion
//#region src/errors/token-expired.ts
createError(ErrorCode.TokenExpired, "Token expired.", 401);

//#endregion
//#region src/errors/unexpected-response.ts
createError(ErrorCode.UnexpectedResponse, "Received an unexpected response.", 503);

//#endregion
//#region src/errors/unprocessable-content.ts
const messageConstructor$7 = (extensions) => `Can't process content. ${extensions.reason}.`;
createError(ErrorCode.UnprocessableContent, messageConstructor$7, 422);

//#endregion
//#region src/errors/unsupported-media-type.ts
const messageConstructor$6 = (extensions) => `Unsupported media type "${extensions.mediaType}" in ${extensions.where}.`;
createError(ErrorCode.UnsupportedMediaType, messageConstructor$6, 415);

//#endregion
//#region src/errors/user-suspended.ts
createError(ErrorCode.UserSuspended, "User suspended.", 401);

//#endregion
//#region src/errors/value-out-of-range.ts
const messageConstructor$5 = ({ collection, field, value }) => {
	let message = "Numeric value ";
	if (value) message += `"${value}" `;
	if (field) message += `for field "${field}" `;
	if (collection) message += `in collection "${collection}" `;
	message += `is out of range.`;
	return message;
};
createError(ErrorCode.ValueOutOfRange, messageConstructor$5, 400);

//#endregion
//#region src/errors/version-hash-mismatch.ts
const messageConstructor$4 = () => `Main item has changed since this version was last updated.`;
createError(ErrorCode.VersionHashMismatch, messageConstructor$4, 422);

//#endregion
//#region src/errors/value-too-long.ts
const messageConstructor$3 = ({ collection, field, value }) => {
	let message = "Value ";
	if (value) message += `"${value}" `;
	if (field) message += `for field "${field}" `;
	if (collection) message += `in collection "${collection}" `;
	message += `is too long.`;
	return message;
};
createError(ErrorCode.ValueTooLong, messageConstructor$3, 400);

//#endregion
//#region src/errors/timeout.ts
const messageConstructor$2 = ({ category, duration }) => `${category} timed out after ${ms(duration, { long: true })}.`;
createError(ErrorCode.OutOfTime, messageConstructor$2, 408);

//#endregion
//#region src/errors/license-immutable.ts
const messageConstructor$1 = ({ action, source }) => `"${action}" is not allowed. ${source} license cannot be modified.`;
createError(ErrorCode.InvalidPayload, messageConstructor$1, 409);

//#endregion
//#region src/errors/resource-restricted.ts
const messageConstructor = ({ category }) => {
	return `${category} is a restricted resource.`;
};
createError(ErrorCode.ResourceRestricted, messageConstructor, 403);

// The errors the bundle throws. createError (from @directus/errors, bundled into dist/api.js) makes
// classes named "DirectusError": Directus's error handler answers them with their status and
// `{"errors": [{"message", "extensions": {"code", ...}}]}`, like its own errors.

const reason = (extensions) => extensions.reason;

/** An approval (or its signature) made by nobody or by the agent's Directus user. */
const ApprovalRefusedError = createError('GOVGATE_APPROVAL_REFUSED', reason, 403);

/** Approvals and their signatures are evidence: never edited, never deleted. */
const ApprovalImmutableError = createError('GOVGATE_APPROVAL_IMMUTABLE', reason, 403);

/** A passkey registered for another user, or by nobody. */
const PasskeyRefusedError = createError('GOVGATE_PASSKEY_REFUSED', reason, 403);

/** The request has no signed-in Directus user. */
const SignInRequiredError = createError('GOVGATE_SIGN_IN_REQUIRED', reason, 401);

/** Bad input: the typed approval id, a malformed assertion or passkey. */
const InvalidInputError = createError('GOVGATE_INVALID_INPUT', reason, 400);

/** The typed approval id is not the approval id: nothing was created. */
const TypedIdMismatchError = createError('GOVGATE_TYPED_ID_MISMATCH', reason, 400);

/** The passkey assertion does not sign this payload, or not with this user's passkey. */
const AssertionRefusedError = createError('GOVGATE_ASSERTION_REFUSED', reason, 400);

/** govgate serve refused to build a payload (unknown approval id, no proposal...). */
const PayloadRefusedError = createError('GOVGATE_PAYLOAD_REFUSED', reason, 409);

/** govgate serve is not running, not on loopback, or too old to build approval payloads. */
const ServeUnavailableError = createError('GOVGATE_SERVE_UNAVAILABLE', reason, 503);

// Asking `govgate serve` (the one gate) on loopback. Nothing here ever talks to another host:
// a GOVGATE_SERVE_URL that is not a loopback address is refused, redirects are not followed,
// and every request gives up after 2 seconds.
const DEFAULT_SERVE_URL = 'http://127.0.0.1:8765';
const SERVE_TIMEOUT_MS = 2000;
const MAX_BODY_BYTES = 8 * 1024 * 1024;

/** The configured govgate serve URL (env GOVGATE_SERVE_URL), without a trailing slash. */
function serveUrl(env) {
	const raw = env?.GOVGATE_SERVE_URL ?? process.env.GOVGATE_SERVE_URL;
	const text = raw === undefined || raw === null || String(raw).trim() === '' ? DEFAULT_SERVE_URL : String(raw).trim();
	return text.replace(/\/+$/, '');
}

/** True when HOSTNAME (from a URL) names this machine: 127.0.0.0/8, ::1 or localhost. */
function isLoopbackHost(hostname) {
	const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
	if (host === 'localhost' || host === '::1') return true;
	return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * GET PATH (with its query string) from govgate serve.
 *
 * Resolves to one of:
 * - `{reachable: true, status, body}`: govgate serve answered with JSON (any HTTP status);
 * - `{reachable: false, reason}`: not configured for loopback, not running, timed out, or not JSON.
 */
async function askServe(env, path, { fetchImpl = globalThis.fetch, timeoutMs = SERVE_TIMEOUT_MS } = {}) {
	const base = serveUrl(env);
	let url;
	try {
		url = new URL(base + path);
	} catch {
		return { reachable: false, reason: `GOVGATE_SERVE_URL is not a URL: ${JSON.stringify(base)}` };
	}
	if (url.protocol !== 'http:' && url.protocol !== 'https:') {
		return { reachable: false, reason: `GOVGATE_SERVE_URL must be an http URL, not ${url.protocol}` };
	}
	if (!isLoopbackHost(url.hostname)) {
		return {
			reachable: false,
			reason: `GOVGATE_SERVE_URL must point at this machine (127.0.0.1, ::1 or localhost), not ${url.hostname}: govgate serve listens on loopback only`,
		};
	}
	let response;
	try {
		response = await fetchImpl(url, {
			method: 'GET',
			headers: { accept: 'application/json' },
			redirect: 'error',
			signal: AbortSignal.timeout(timeoutMs),
		});
	} catch (error) {
		const why = error?.name === 'TimeoutError' || error?.name === 'AbortError'
			? `no answer within ${timeoutMs / 1000} s`
			: (error?.cause?.code ?? error?.cause?.message ?? error?.message ?? String(error));
		return { reachable: false, reason: `govgate serve is not reachable at ${base} (${why}); start it with \`govgate serve\` on this host` };
	}
	let text;
	try {
		text = await response.text();
	} catch (error) {
		return { reachable: false, reason: `govgate serve at ${base} broke off its answer (${error?.message ?? error})` };
	}
	if (text.length > MAX_BODY_BYTES) {
		return { reachable: false, reason: `govgate serve at ${base} answered more than ${MAX_BODY_BYTES} bytes` };
	}
	try {
		return { reachable: true, status: response.status, body: JSON.parse(text) };
	} catch {
		return { reachable: false, reason: `${base}${path.split('?')[0]} answered HTTP ${response.status} without JSON: is govgate serve the program listening there?` };
	}
}

// Who is asking: the Directus user behind a request or an event, and whether it is the agent's.

/** The configured agent user(s): env GOVGATE_AGENT_USER, ids or e-mails, comma-separated. */
function agentUsers(env) {
	const raw = env?.GOVGATE_AGENT_USER ?? process.env.GOVGATE_AGENT_USER;
	if (raw === undefined || raw === null) return [];
	return String(raw)
		.split(',')
		.map((part) => part.trim().toLowerCase())
		.filter((part) => part.length > 0);
}

/** The user id of an accountability, or null (no accountability, or the public role). */
function userOf(accountability) {
	const user = accountability?.user;
	return typeof user === 'string' && user.length > 0 ? user : null;
}

/**
 * True when USER_ID is the agent's Directus user: its id or its e-mail is in GOVGATE_AGENT_USER.
 * DATABASE is the knex handle of the event (the transaction of the write), used to read the e-mail.
 */
async function isAgentUser(env, database, userId) {
	const agents = agentUsers(env);
	if (agents.length === 0 || !userId) return false;
	if (agents.includes(String(userId).toLowerCase())) return true;
	if (!agents.some((agent) => agent.includes('@'))) return false;
	const row = await database.select('email').from('directus_users').where({ id: userId }).first();
	const email = typeof row?.email === 'string' ? row.email.trim().toLowerCase() : null;
	return email !== null && agents.includes(email);
}

// base64url without padding, as WebAuthn uses it.
const BASE64URL = /^[A-Za-z0-9_-]*$/;

function isBase64url(value, { min = 1, max = 1 << 20 } = {}) {
	return typeof value === 'string' && value.length >= min && value.length <= max && BASE64URL.test(value);
}

function fromBase64url(value) {
	return Buffer.from(value, 'base64url');
}

function toBase64url(bytes) {
	return Buffer.from(bytes).toString('base64url');
}

// WebAuthn checks the endpoint makes before it stores anything. They are a first line only: the
// gate (govgate, in Python) verifies every signature again against the allowed signers file,
// which lives outside the database.

/** COSE algorithm ids the bundle accepts, and what the key must be for each. */
const ALGORITHMS = {
	'-7': { name: 'ES256', keyType: 'ec', curve: 'prime256v1', digest: 'sha256' },
	'-8': { name: 'EdDSA', keyType: 'ed25519', digest: null },
	'-257': { name: 'RS256', keyType: 'rsa', minBits: 2048, digest: 'sha256' },
};

const FLAG_USER_PRESENT = 0x01;
const FLAG_USER_VERIFIED = 0x04;

function sha256(bytes) {
	return createHash('sha256').update(bytes).digest();
}

/** The WebAuthn challenge for a payload: the SHA-256 of its UTF-8 bytes, base64url. */
function challengeFor(payloadText) {
	return toBase64url(sha256(Buffer.from(payloadText, 'utf8')));
}

/**
 * A public key as the browser gives it (`AuthenticatorAttestationResponse.getPublicKey()`:
 * SubjectPublicKeyInfo, DER, base64url) checked against its COSE algorithm id.
 * Returns `{key, algorithm}` or throws an Error with a plain message.
 */
function parsePublicKey(spkiB64url, algorithm) {
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
function parseAssertion(assertion) {
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
function checkClientData(clientDataB64url, { type, challenge }) {
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
function checkFlags(authenticatorDataB64url) {
	const bytes = fromBase64url(authenticatorDataB64url);
	if (bytes.length < 37) throw new Error('authenticatorData is too short');
	const flags = bytes[32];
	if (!(flags & FLAG_USER_PRESENT)) throw new Error('the authenticator did not see the user (UP flag missing)');
	if (!(flags & FLAG_USER_VERIFIED)) throw new Error('the authenticator did not verify the user (UV flag missing): a PIN or biometric is required');
	return { rpIdHash: bytes.subarray(0, 32), flags, signCount: bytes.readUInt32BE(33) };
}

/** True when SIGNATURE (base64url) signs authenticatorData || SHA-256(clientDataJSON) under the key. */
function verifyAssertionSignature({ key, algorithm }, { authenticatorData, clientDataJSON, signature }) {
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

const APPROVALS$1 = 'os_proposal_approvals';
const SIGNATURES$1 = 'os_approval_signatures';
const PASSKEYS$1 = 'os_passkeys';

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
	if (age < -1e3 || age > SIGNED_WITHIN_MS) {
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

var e0 = {
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
			requireCollections(req, APPROVALS$1, SIGNATURES$1, PASSKEYS$1);

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
			const passkeys = await asCaller(`approving needs read on ${PASSKEYS$1}`, () =>
				new ItemsService(PASSKEYS$1, asUser).readByQuery({
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
			const needs = `approving needs create on ${APPROVALS$1} and on ${SIGNATURES$1}`;
			const created = await asCaller(needs, () => database.transaction(async (trx) => {
				const inTrx = { ...asUser, knex: trx };
				const approval = await new ItemsService(APPROVALS$1, inTrx).createOne({
					id: approvalId,
					proposal_id: signed.proposal_id,
					proposal_sha256: signed.proposal_sha256,
					statement,
					...(signed.not_after ? { not_after: signed.not_after } : {}),
				});
				const signature = await new ItemsService(SIGNATURES$1, inTrx).createOne({
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
			requireCollections(req, PASSKEYS$1);
			const rows = await asCaller(`listing your passkeys needs read on ${PASSKEYS$1}`, () =>
				new ItemsService(PASSKEYS$1, { schema: req.schema, accountability: req.accountability }).readByQuery({
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
			requireCollections(req, PASSKEYS$1);
			const id = await asCaller(`registering a passkey needs create on ${PASSKEYS$1}`, () =>
				new ItemsService(PASSKEYS$1, { schema: req.schema, accountability: req.accountability }).createOne({
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

const APPROVALS = 'os_proposal_approvals';
const SIGNATURES = 'os_approval_signatures';
const PASSKEYS = 'os_passkeys';
const WHAT = { [APPROVALS]: 'an approval', [SIGNATURES]: 'an approval signature' };

// A hook is a function (Directus calls it with the register functions and the context).
function registerGuard({ filter }, { env, logger }) {
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

const hooks = [{name:'govgate-guard',config:registerGuard}];const endpoints = [{name:'govgate',config:e0}];const operations = [];

export { endpoints, hooks, operations };
