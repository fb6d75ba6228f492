// Asking `govgate serve` (the one gate) on loopback. Nothing here ever talks to another host:
// a GOVGATE_SERVE_URL that is not a loopback address is refused, redirects are not followed,
// and every request gives up after 2 seconds.
export const DEFAULT_SERVE_URL = 'http://127.0.0.1:8765';
export const SERVE_TIMEOUT_MS = 2000;
const MAX_BODY_BYTES = 8 * 1024 * 1024;

/** The configured govgate serve URL (env GOVGATE_SERVE_URL), without a trailing slash. */
export function serveUrl(env) {
	const raw = env?.GOVGATE_SERVE_URL ?? process.env.GOVGATE_SERVE_URL;
	const text = raw === undefined || raw === null || String(raw).trim() === '' ? DEFAULT_SERVE_URL : String(raw).trim();
	return text.replace(/\/+$/, '');
}

/** True when HOSTNAME (from a URL) names this machine: 127.0.0.0/8, ::1 or localhost. */
export function isLoopbackHost(hostname) {
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
export async function askServe(env, path, { fetchImpl = globalThis.fetch, timeoutMs = SERVE_TIMEOUT_MS } = {}) {
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
