import { useApi, defineModule, definePanel } from '@directus/extensions-sdk';
import { ref, computed, onMounted, onBeforeUnmount, resolveComponent, openBlock, createBlock, withCtx, createElementVNode, createCommentVNode, normalizeClass, toDisplayString, createElementBlock, createTextVNode, Fragment, renderList, withModifiers, withDirectives, vModelText } from 'vue';

var e=[],t=[];function n(n,r){if(n&&"undefined"!=typeof document){var a,s=true===r.prepend?"prepend":"append",d=true===r.singleTag,i="string"==typeof r.container?document.querySelector(r.container):document.getElementsByTagName("head")[0];if(d){var u=e.indexOf(i);-1===u&&(u=e.push(i)-1,t[u]={}),a=t[u]&&t[u][s]?t[u][s]:t[u][s]=c();}else a=c();65279===n.charCodeAt(0)&&(n=n.substring(1)),a.styleSheet?a.styleSheet.cssText+=n:a.appendChild(document.createTextNode(n));}function c(){var e=document.createElement("style");if(e.setAttribute("type","text/css"),r.attributes)for(var t=Object.keys(r.attributes),n=0;n<t.length;n++)e.setAttribute(t[n],r.attributes[t[n]]);var a="prepend"===s?"afterbegin":"beforeend";return i.insertAdjacentElement(a,e),e}}

var css$2 = "/* The gate's word: white on a solid colour (contrast ≥ 4.5:1 in light and dark themes). */\n.gg-word {\n\tdisplay: inline-block;\n\tpadding: 0.1em 0.45em;\n\tborder-radius: 6px;\n\tcolor: #ffffff;\n\tfont-weight: 800;\n\tletter-spacing: 0.05em;\n\tline-height: 1.15;\n\tbackground: #5f6368;\n}\n.gg-word.tone-blocked { background: #b3261e; }\n.gg-word.tone-ready { background: #8a5300; }\n.gg-word.tone-applied { background: #1b6e2a; }\n.gg-word.tone-drifted { background: #8f3b12; }\n.gg-word.tone-unknown { background: #5f6368; }\n";
n(css$2,{});

// What the app side (module and panel) shows about the gate: words, colours, plain sentences.

const WORDS = {
	BLOCKED: { tone: 'blocked', says: 'The rollout may not run: see why below.' },
	READY: { tone: 'ready', says: 'A person approved this exact proposal and production is as expected: the agent may run it.' },
	APPLIED: { tone: 'applied', says: 'The approved rollout is in place and verified.' },
	DRIFTED: { tone: 'drifted', says: 'The rollout is in place, but its records were changed afterwards.' },
	UNKNOWN: { tone: 'unknown', says: 'govgate cannot be asked right now.' },
};

/** The gate's word from a /govgate/status answer (anything unexpected is UNKNOWN). */
function wordOf(status) {
	const word = typeof status?.status === 'string' ? status.status.toUpperCase() : 'UNKNOWN';
	return WORDS[word] ? word : 'UNKNOWN';
}

/** The message of an error thrown by useApi() (axios): Directus's errors[0].message, govgate serve's
 * error.message, else its own. */
function messageOf(error) {
	const data = error?.response?.data;
	const first = Array.isArray(data?.errors) ? data.errors[0] : null;
	if (first?.message) return first.message;
	if (typeof data?.error?.message === 'string') return data.error.message; // govgate serve's error document
	if (typeof data?.message === 'string') return data.message;
	if (typeof data?.reason === 'string') return data.reason;
	return error?.message ?? String(error);
}

/** The status answer to show when the endpoint itself could not be asked. */
function unknownStatus(error) {
	return { status: 'UNKNOWN', reason: `the govgate endpoint did not answer: ${messageOf(error)}` };
}

/** The last rollout's report in plain words (the same sentences as `govgate report`). */
function reportSentences(report) {
	if (!report || typeof report !== 'object') return [];
	if (Array.isArray(report.sentences)) return report.sentences.map(String);
	const list = (value) => (Array.isArray(value) ? value : []);
	const protectedTables = list(report.protected_untouched);
	const byAuthority = Object.entries(report.records_by_authority ?? {}).map(([a, n]) => `${a} ${n}`).join(', ');
	const objects = list(report.objects_created);
	const views = objects.filter((o) => o?.kind === 'view').map((o) => o.name);
	const boards = objects.filter((o) => o?.kind === 'dashboard').map((o) => o.name);
	const made = [views.length ? `views ${views.join(', ')}` : '', boards.length ? `Directus dashboard '${boards[0]}'` : '']
		.filter(Boolean).join(', ') || 'none';
	const seconds = Number(report.duration_ms ?? 0) / 1000;
	const lines = [
		`Rollout ${report.rollout} of proposal ${report.proposal} (${report.title})` + (report.dry_run ? ' — DRY RUN, nothing was kept' : ''),
		approvedBy(report),
		`Ownership gap: ${report.gap_before} before, ${report.gap_after} after.`,
		`Conflicts: ${report.conflicts}.`,
		`External emissions: ${report.external_emissions} (external emission is ${report.external_emission_setting}).`,
		`Protected collections untouched: ${protectedTables.length ? protectedTables.join(', ') : 'none exist'} (protected: ${list(report.protected_patterns).join(', ')}).`,
		`Records created: ${report.records_created} accountability records (${byAuthority}).`,
		`Dashboards created: ${made}.`,
		`It took ${seconds.toFixed(2)} s.`,
		`Verification: ${report.status}.`,
		`To undo it: ${report.undo}`,
	];
	if (report.rolled_back_at) {
		lines.push(`It was rolled back at ${report.rolled_back_at}; the gap is back to ${report.gap_before}.`);
	}
	return lines;
}

/** "Approved by Ada <ada@…> (approval APR-1) and …", or the approval alone in older reports. */
function approvedBy(report) {
	const ids = Array.isArray(report.approvals) && report.approvals.length ? report.approvals : [report.approval];
	const people = Array.isArray(report.approvers) ? report.approvers : [];
	if (!people.length) return `Approved by approval ${report.approval}.`;
	return `Approved by ${people.map((who, i) => `${who} (approval ${ids[i] ?? ids[0]})`).join(' and ')}.`;
}

// The browser side of passkeys: WebAuthn calls and their base64url encoding.
// Nothing here talks to anything but the browser's authenticator and the Directus API.

const ALGORITHMS = [
	{ type: 'public-key', alg: -7 }, // ES256
	{ type: 'public-key', alg: -8 }, // EdDSA
	{ type: 'public-key', alg: -257 }, // RS256
];

function toBase64url(buffer) {
	const bytes = buffer instanceof Uint8Array ? buffer : new Uint8Array(buffer);
	let text = '';
	for (const byte of bytes) text += String.fromCharCode(byte);
	return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64url(text) {
	const base64 = text.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((text.length + 3) % 4);
	const raw = atob(base64);
	const bytes = new Uint8Array(raw.length);
	for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
	return bytes;
}

async function sha256(text) {
	return new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
}

function bytesToHex(bytes) {
	return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Why passkeys cannot work on this page, or null when they can. */
function passkeyObstacle() {
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
async function createPasskey(user, existingIds = []) {
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
async function signWithPasskey(challenge, credentialIds) {
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

var css$1 = "\n.gg[data-v-6e2b7a65] {\n\tpadding: 0 var(--content-padding, 32px) var(--content-padding-bottom, 64px);\n\tmax-width: 960px;\n\tcolor: var(--theme--foreground-accent, #172940);\n\tfont-size: 15px;\n\tline-height: 1.5;\n}\n.gg-card[data-v-6e2b7a65] {\n\tmargin: 0 0 24px;\n\tpadding: 20px;\n\tborder: var(--theme--border-width, 2px) solid var(--theme--border-color-subdued, #e4eaf1);\n\tborder-radius: var(--theme--border-radius, 6px);\n\tbackground: var(--theme--background, #ffffff);\n}\n.gg-label[data-v-6e2b7a65] {\n\tmargin: 0;\n\tfont-size: 16px;\n\tfont-weight: 600;\n\tcolor: var(--theme--foreground, #4f5464);\n}\n.gg-big[data-v-6e2b7a65] {\n\tmargin: 8px 0;\n\tfont-size: clamp(36px, 10vw, 64px);\n}\n.gg-h2[data-v-6e2b7a65] {\n\tmargin: 0 0 12px;\n\tfont-size: 22px;\n\tfont-weight: 700;\n\tline-height: 1.25;\n}\n.gg-h3[data-v-6e2b7a65] {\n\tmargin: 16px 0 8px;\n\tfont-size: 17px;\n\tfont-weight: 700;\n}\n.gg-lead[data-v-6e2b7a65] {\n\tfont-size: 17px;\n}\n.gg p[data-v-6e2b7a65] {\n\tmargin: 0 0 12px;\n}\n.gg ul[data-v-6e2b7a65] {\n\tmargin: 0 0 12px;\n\tpadding-left: 20px;\n\tlist-style: disc;\n}\n.gg-reasons li[data-v-6e2b7a65],\n.gg-sentences li[data-v-6e2b7a65] {\n\tmargin-bottom: 6px;\n}\n.gg-muted[data-v-6e2b7a65] {\n\tcolor: var(--theme--foreground, #4f5464);\n}\n.gg-small[data-v-6e2b7a65] {\n\tfont-size: 13px;\n}\n.gg-block[data-v-6e2b7a65] {\n\tdisplay: block;\n}\n.gg-sr[data-v-6e2b7a65] {\n\tposition: absolute;\n\twidth: 1px;\n\theight: 1px;\n\toverflow: hidden;\n\tclip: rect(0 0 0 0);\n\twhite-space: nowrap;\n}\n.gg-hash[data-v-6e2b7a65],\n.gg-pre[data-v-6e2b7a65] {\n\tfont-family: var(--theme--fonts--monospace--font-family, ui-monospace, monospace);\n\tfont-size: 13px;\n\toverflow-wrap: anywhere;\n\tword-break: break-all;\n}\n.gg code[data-v-6e2b7a65] {\n\tpadding: 0 4px;\n\tborder-radius: 4px;\n\tbackground: var(--theme--background-normal, #f0f4f9);\n}\n.gg-pre[data-v-6e2b7a65] {\n\tmax-height: 320px;\n\toverflow: auto;\n\tpadding: 8px;\n\twhite-space: pre-wrap;\n\tbackground: var(--theme--background-normal, #f0f4f9);\n}\n.gg-totals[data-v-6e2b7a65] {\n\tdisplay: flex;\n\tflex-wrap: wrap;\n\tgap: 12px;\n\tmargin: 0 0 16px;\n}\n.gg-totals div[data-v-6e2b7a65] {\n\tdisplay: flex;\n\tflex-direction: column;\n\tflex: 1 1 140px;\n\tpadding: 12px;\n\tborder-radius: var(--theme--border-radius, 6px);\n\tbackground: var(--theme--background-normal, #f0f4f9);\n}\n.gg-totals dt[data-v-6e2b7a65] {\n\tdisplay: block;\n\tfont-size: 13px;\n\tfont-weight: 600;\n\tcolor: var(--theme--foreground, #4f5464);\n}\n.gg-totals dd[data-v-6e2b7a65] {\n\tdisplay: block;\n\tmargin: 0;\n\tcolor: var(--theme--foreground-accent, #172940);\n\toverflow: visible;\n\twhite-space: nowrap;\n\ttext-overflow: clip;\n\tfont-size: 24px;\n\tfont-weight: 800;\n\tfont-variant-numeric: tabular-nums;\n}\n.gg-scroll[data-v-6e2b7a65] {\n\tmax-width: 100%;\n\toverflow-x: auto;\n}\n.gg-table[data-v-6e2b7a65] {\n\tborder-collapse: collapse;\n\tmargin: 8px 0 16px;\n\tmin-width: min(100%, 480px);\n}\n.gg-table caption[data-v-6e2b7a65] {\n\tpadding: 4px 0;\n\ttext-align: left;\n\tfont-weight: 600;\n}\n.gg-table th[data-v-6e2b7a65],\n.gg-table td[data-v-6e2b7a65] {\n\tpadding: 6px 8px;\n\tborder-bottom: 1px solid var(--theme--border-color-subdued, #e4eaf1);\n\ttext-align: left;\n\tvertical-align: top;\n}\n.gg-table thead th[data-v-6e2b7a65] {\n\tbackground: var(--theme--background-normal, #f0f4f9);\n}\n.gg-num[data-v-6e2b7a65] {\n\ttext-align: right !important;\n\tfont-variant-numeric: tabular-nums;\n}\n.gg-mark[data-v-6e2b7a65] {\n\ttext-align: center !important;\n}\n.gg-nowrap[data-v-6e2b7a65] {\n\twhite-space: nowrap;\n}\n.gg-details[data-v-6e2b7a65] {\n\tmargin: 8px 0;\n}\n.gg-details summary[data-v-6e2b7a65] {\n\tcursor: pointer;\n\tfont-weight: 600;\n\tpadding: 4px 0;\n}\n.gg-form[data-v-6e2b7a65] {\n\tdisplay: flex;\n\tflex-direction: column;\n\talign-items: flex-start;\n\tgap: 8px;\n\tmargin: 12px 0;\n}\n.gg-form label[data-v-6e2b7a65] {\n\tfont-weight: 600;\n}\n.gg-input[data-v-6e2b7a65] {\n\twidth: 100%;\n\tmax-width: 420px;\n\tpadding: 10px 12px;\n\tborder: var(--theme--border-width, 2px) solid var(--theme--form--field--input--border-color, #d3dae4);\n\tborder-radius: var(--theme--border-radius, 6px);\n\tbackground: var(--theme--form--field--input--background, #ffffff);\n\tcolor: var(--theme--foreground, #172940);\n\tfont-family: var(--theme--fonts--monospace--font-family, ui-monospace, monospace);\n\tfont-size: 15px;\n}\n.gg-input[aria-invalid='true'][data-v-6e2b7a65] {\n\tborder-color: #b3261e;\n}\n.gg-button[data-v-6e2b7a65] {\n\tmin-height: 44px;\n\tpadding: 8px 18px;\n\tborder: 0;\n\tborder-radius: var(--theme--border-radius, 6px);\n\tbackground: var(--theme--primary, #6644ff);\n\tcolor: var(--foreground-inverted, #ffffff);\n\tfont-weight: 600;\n\tfont-size: 15px;\n\tcursor: pointer;\n}\n.gg-secondary[data-v-6e2b7a65] {\n\tbackground: var(--theme--background-normal, #f0f4f9);\n\tcolor: var(--theme--foreground, #172940);\n\tborder: var(--theme--border-width, 2px) solid var(--theme--border-color, #d3dae4);\n}\n.gg-button[data-v-6e2b7a65]:disabled {\n\topacity: 0.55;\n\tcursor: not-allowed;\n}\n.gg-button[data-v-6e2b7a65]:focus-visible,\n.gg-input[data-v-6e2b7a65]:focus-visible,\n.gg-link[data-v-6e2b7a65]:focus-visible,\n.gg-details summary[data-v-6e2b7a65]:focus-visible {\n\toutline: 3px solid var(--theme--primary, #6644ff);\n\toutline-offset: 2px;\n}\n.gg-link[data-v-6e2b7a65] {\n\tpadding: 0;\n\tborder: 0;\n\tbackground: none;\n\tcolor: var(--theme--primary, #6644ff);\n\ttext-decoration: underline;\n\tcursor: pointer;\n\tfont: inherit;\n}\n.gg-notice[data-v-6e2b7a65] {\n\tpadding: 10px 12px;\n\tborder-left: 4px solid #8a5300;\n\tbackground: var(--theme--background-normal, #f0f4f9);\n}\n.gg-error[data-v-6e2b7a65] {\n\tpadding: 10px 12px;\n\tborder-left: 4px solid #b3261e;\n\tbackground: var(--theme--background-normal, #f0f4f9);\n}\n.gg-ok[data-v-6e2b7a65] {\n\tcolor: #1b6e2a;\n\tfont-weight: 700;\n}\n.gg-bad[data-v-6e2b7a65] {\n\tcolor: #b3261e;\n\tfont-weight: 700;\n}\n.gg-keys li[data-v-6e2b7a65] {\n\tmargin-bottom: 4px;\n}\n@media (max-width: 480px) {\n.gg[data-v-6e2b7a65] {\n\t\tpadding: 0 12px 32px;\n}\n.gg-card[data-v-6e2b7a65] {\n\t\tpadding: 14px;\n}\n}\n";
n(css$1,{});

var _export_sfc = (sfc, props) => {
  const target = sfc.__vccOpts || sfc;
  for (const [key, val] of props) {
    target[key] = val;
  }
  return target;
};

const _hoisted_1$1 = { class: "gg" };
const _hoisted_2$1 = {
  class: "gg-card",
  "aria-labelledby": "gg-gate-heading"
};
const _hoisted_3$1 = {
  class: "gg-big",
  role: "status",
  "aria-live": "polite",
  "aria-atomic": "true"
};
const _hoisted_4$1 = { class: "gg-lead" };
const _hoisted_5$1 = {
  key: 0,
  class: "gg-muted"
};
const _hoisted_6 = { key: 1 };
const _hoisted_7 = { class: "gg-h3" };
const _hoisted_8 = { class: "gg-reasons" };
const _hoisted_9 = {
  key: 0,
  class: "gg-muted gg-block"
};
const _hoisted_10 = { class: "gg-muted gg-small" };
const _hoisted_11 = {
  class: "gg-card",
  "aria-labelledby": "gg-changes-heading"
};
const _hoisted_12 = {
  id: "gg-changes-heading",
  class: "gg-h2"
};
const _hoisted_13 = {
  key: 0,
  class: "gg-muted"
};
const _hoisted_14 = { class: "gg-lead" };
const _hoisted_15 = { class: "gg-totals" };
const _hoisted_16 = {
  class: "gg-hash",
  "data-testid": "proposal-hash"
};
const _hoisted_17 = { class: "gg-scroll" };
const _hoisted_18 = { class: "gg-table" };
const _hoisted_19 = { scope: "row" };
const _hoisted_20 = { class: "gg-num" };
const _hoisted_21 = { class: "gg-num" };
const _hoisted_22 = { class: "gg-scroll" };
const _hoisted_23 = { class: "gg-table" };
const _hoisted_24 = { class: "gg-muted" };
const _hoisted_25 = { scope: "row" };
const _hoisted_26 = {
  class: "gg-card",
  "aria-labelledby": "gg-approve-heading"
};
const _hoisted_27 = {
  key: 0,
  class: "gg-notice"
};
const _hoisted_28 = {
  key: 1,
  class: "gg-muted"
};
const _hoisted_29 = {
  key: 0,
  class: "gg-muted"
};
const _hoisted_30 = {
  key: 1,
  class: "gg-muted"
};
const _hoisted_31 = { class: "gg-hash" };
const _hoisted_32 = {
  key: 0,
  class: "gg-notice",
  role: "note"
};
const _hoisted_33 = ["aria-invalid"];
const _hoisted_34 = {
  id: "gg-typed-help",
  class: "gg-muted gg-small"
};
const _hoisted_35 = ["disabled"];
const _hoisted_36 = {
  key: 0,
  class: "gg-muted gg-small"
};
const _hoisted_37 = {
  key: 1,
  class: "gg-details"
};
const _hoisted_38 = { class: "gg-small" };
const _hoisted_39 = { class: "gg-hash" };
const _hoisted_40 = { class: "gg-pre" };
const _hoisted_41 = {
  key: 3,
  class: "gg-error",
  role: "alert"
};
const _hoisted_42 = {
  key: 4,
  class: "gg-ok",
  role: "status"
};
const _hoisted_43 = {
  key: 0,
  class: "gg-muted"
};
const _hoisted_44 = {
  key: 1,
  class: "gg-keys"
};
const _hoisted_45 = { class: "gg-hash" };
const _hoisted_46 = { class: "gg-muted gg-small" };
const _hoisted_47 = ["disabled"];
const _hoisted_48 = {
  key: 2,
  class: "gg-error",
  role: "alert"
};
const _hoisted_49 = {
  key: 3,
  class: "gg-ok",
  role: "status"
};
const _hoisted_50 = {
  class: "gg-card",
  "aria-labelledby": "gg-report-heading"
};
const _hoisted_51 = {
  key: 0,
  class: "gg-muted"
};
const _hoisted_52 = {
  key: 1,
  class: "gg-sentences"
};
const _hoisted_53 = {
  class: "gg-card",
  "aria-labelledby": "gg-audit-heading"
};
const _hoisted_54 = {
  key: 0,
  class: "gg-muted"
};
const _hoisted_55 = {
  key: 0,
  class: "gg-lead"
};
const _hoisted_56 = {
  key: 1,
  class: "gg-lead"
};
const _hoisted_57 = { class: "gg-scroll" };
const _hoisted_58 = { class: "gg-table" };
const _hoisted_59 = {
  scope: "row",
  class: "gg-num"
};
const _hoisted_60 = { class: "gg-nowrap" };

const POLL_MS = 5000;
const AUDIT_LIMIT = 50;

const _sfc_main$1 = {
  __name: 'governance',
  setup(__props) {

const ALGORITHM_NAMES = { '-7': 'ES256', '-8': 'EdDSA', '-257': 'RS256' };

const api = useApi();

const status = ref(null);
const checkedAt = ref('');
const proposalView = ref(null);
const proposalNote = ref('Asking govgate…');
const report = ref(null);
const reportNote = ref('Asking govgate…');
const audit = ref(null);
const auditNote = ref('Asking govgate…');
const me = ref(null);
const canApprove = ref(false);
const passkeys = ref([]);
const passkeyNote = ref('');
const typedId = ref('');
const busy = ref('');
const payload = ref(null);
const approveError = ref('');
const approveDone = ref('');
const registerError = ref('');
const registerDone = ref('');
const obstacle = ref(passkeyObstacle());

const word = computed(() => wordOf(status.value));
const tone = computed(() => WORDS[word.value].tone);
const says = computed(() => WORDS[word.value].says);
const reasons = computed(() => (Array.isArray(status.value?.reasons) ? status.value.reasons : []));
const notes = computed(() => (Array.isArray(status.value?.notes) ? status.value.notes : []));
const proposal = computed(() => proposalView.value?.proposal ?? null);
// The approval id it is ratified with (`approval`; `approval_id` before govgate's JSON format_version 1).
const approvalIdOf = (p) => p?.approval ?? p?.approval_id ?? null;
const inPlace = computed(() => proposalView.value?.in_place === true);
const authorities = computed(() => (Array.isArray(proposalView.value?.authorities) ? proposalView.value.authorities : []));
const duties = computed(() => (Array.isArray(proposalView.value?.duties) ? proposalView.value.duties : []));
const slotCount = computed(() => (Array.isArray(proposal.value?.slots) ? proposal.value.slots.length : 0));
const protectedList = computed(() => (Array.isArray(proposal.value?.protected) ? proposal.value.protected : []));
const sentences = computed(() => reportSentences(report.value));
const events = computed(() => (Array.isArray(audit.value?.events) ? [...audit.value.events].reverse() : []));

function algorithmName(alg) {
	return ALGORITHM_NAMES[String(alg)] ?? `algorithm ${alg}`;
}

/** What makes the details worth asking again: the word and what it is about. */
function stateKey(s) {
	return JSON.stringify([s?.status, s?.proposal, s?.proposal_sha256, s?.approval, s?.rollout, s?.fingerprint]);
}

async function refreshStatus() {
	try {
		status.value = (await api.get('/govgate/status')).data;
	} catch (error) {
		status.value = unknownStatus(error);
	}
	checkedAt.value = `at ${new Date().toLocaleTimeString()}`;
}

async function refreshProposal() {
	try {
		const data = (await api.get('/govgate/proposal')).data;
		if (data?.status === 'UNKNOWN' && !data.proposal) {
			proposalView.value = null;
			proposalNote.value = data.reason ?? 'govgate cannot be asked right now.';
		} else if (!data?.proposal) {
			proposalView.value = null;
			proposalNote.value = 'No proposal has been frozen yet. An engineer prepares one with `govgate propose PLAN`.';
		} else {
			proposalView.value = data;
			proposalNote.value = '';
		}
	} catch (error) {
		proposalView.value = null;
		proposalNote.value = messageOf(error);
	}
}

async function refreshReport() {
	try {
		const data = (await api.get('/govgate/report')).data;
		if (data?.status === 'UNKNOWN' && !data.rollout) {
			report.value = null;
			reportNote.value = data.reason ?? 'govgate cannot be asked right now.';
		} else {
			report.value = data;
			reportNote.value = '';
		}
	} catch (error) {
		report.value = null;
		reportNote.value = error?.response?.status === 404
			? 'No rollout yet: the agent writes a report after each rollout.'
			: messageOf(error);
	}
}

async function refreshAudit() {
	try {
		const data = (await api.get('/govgate/audit', { params: { limit: AUDIT_LIMIT } })).data;
		if (data?.status === 'UNKNOWN' && !data.chain) {
			audit.value = null;
			auditNote.value = data.reason ?? 'govgate cannot be asked right now.';
		} else {
			audit.value = data;
			auditNote.value = '';
		}
	} catch (error) {
		audit.value = null;
		auditNote.value = messageOf(error);
	}
}

async function refreshMe() {
	try {
		me.value = (await api.get('/govgate/me')).data;
	} catch {
		me.value = null;
	}
	try {
		const access = (await api.get('/permissions/me')).data?.data ?? {};
		const create = access.os_proposal_approvals?.create?.access;
		canApprove.value = me.value?.agent !== true && (create === 'full' || create === 'partial');
	} catch {
		canApprove.value = false;
	}
}

async function refreshPasskeys() {
	try {
		passkeys.value = (await api.get('/govgate/passkeys')).data?.data ?? [];
		passkeyNote.value = passkeys.value.length ? '' : 'You have no passkey registered yet.';
	} catch (error) {
		passkeys.value = [];
		passkeyNote.value = `Your passkeys cannot be read: ${messageOf(error)}`;
	}
}

async function refreshDetails() {
	await Promise.all([refreshProposal(), refreshReport(), refreshAudit()]);
}

async function refreshAll() {
	await refreshStatus();
	await Promise.all([refreshDetails(), refreshMe(), refreshPasskeys()]);
}

let timer = null;
async function poll() {
	const before = stateKey(status.value);
	await refreshStatus();
	if (stateKey(status.value) !== before) await refreshDetails();
}

async function approve() {
	approveError.value = '';
	approveDone.value = '';
	payload.value = null;
	const approvalId = approvalIdOf(proposal.value);
	if (!approvalId) return;
	if (typedId.value !== approvalId) {
		approveError.value = `You typed ${typedId.value}, but the approval id is ${approvalId}: type it exactly. Nothing was approved.`;
		return;
	}
	busy.value = 'approve';
	try {
		const signed = (await api.get('/govgate/payload', { params: { approval_id: approvalId } })).data;
		const digest = await sha256(signed.payload);
		if (bytesToHex(digest) !== String(signed.challenge).toLowerCase()) {
			throw new Error('the challenge from govgate is not the SHA-256 of the payload: nothing was signed');
		}
		payload.value = signed;
		const assertion = await signWithPasskey(digest, passkeys.value.map((k) => k.credential_id));
		// The payload goes back with the assertion: govgate dates payloads, so asking it again would not
		// give these bytes.
		const done = (await api.post('/govgate/approve', {
			approval_id: approvalId,
			typed_id: typedId.value,
			assertion,
			payload: signed.payload,
		})).data;
		approveDone.value = `Approved: approval ${done.approval_id} for ${done.proposal_id} is recorded in Directus with your passkey's signature.`;
		typedId.value = '';
		await refreshAll();
	} catch (error) {
		approveError.value = error?.name === 'NotAllowedError'
			? 'The passkey was not used (cancelled or timed out). Nothing was approved.'
			: `Not approved: ${messageOf(error)}`;
	} finally {
		busy.value = '';
	}
}

async function register() {
	registerError.value = '';
	registerDone.value = '';
	if (!me.value?.user) {
		registerError.value = 'Your Directus user could not be read; reload the page.';
		return;
	}
	busy.value = 'register';
	try {
		const body = await createPasskey({ id: me.value.user, email: me.value.email }, passkeys.value.map((k) => k.credential_id));
		await api.post('/govgate/passkeys', body);
		registerDone.value = 'Passkey registered. Ask an operator to add it to the allowed signers file; until then it does not count.';
		await refreshPasskeys();
	} catch (error) {
		registerError.value = error?.name === 'NotAllowedError'
			? 'No passkey was made (cancelled or timed out).'
			: error?.name === 'InvalidStateError'
				? 'This authenticator already holds one of your passkeys.'
				: `No passkey registered: ${messageOf(error)}`;
	} finally {
		busy.value = '';
	}
}

onMounted(() => {
	refreshAll();
	timer = setInterval(poll, POLL_MS);
});

onBeforeUnmount(() => {
	if (timer) clearInterval(timer);
});

return (_ctx, _cache) => {
  const _component_private_view = resolveComponent("private-view");

  return (openBlock(), createBlock(_component_private_view, {
    title: "Governance",
    icon: "gavel"
  }, {
    default: withCtx(() => [
      createElementVNode("div", _hoisted_1$1, [
        createCommentVNode(" The gate's word "),
        createElementVNode("section", _hoisted_2$1, [
          _cache[9] || (_cache[9] = createElementVNode("h2", {
            id: "gg-gate-heading",
            class: "gg-label"
          }, "The gate says", -1 /* CACHED */)),
          createElementVNode("p", _hoisted_3$1, [
            createElementVNode("span", {
              class: normalizeClass(['gg-word', `tone-${tone.value}`]),
              "data-testid": "gate-word"
            }, toDisplayString(word.value), 3 /* TEXT, CLASS */)
          ]),
          createElementVNode("p", _hoisted_4$1, toDisplayString(says.value), 1 /* TEXT */),
          (status.value && status.value.reason)
            ? (openBlock(), createElementBlock("p", _hoisted_5$1, toDisplayString(status.value.reason), 1 /* TEXT */))
            : createCommentVNode("v-if", true),
          (status.value && status.value.proposal)
            ? (openBlock(), createElementBlock("p", _hoisted_6, [
                _cache[6] || (_cache[6] = createTextVNode(" Proposal ", -1 /* CACHED */)),
                createElementVNode("strong", null, toDisplayString(status.value.proposal), 1 /* TEXT */),
                (status.value.approval)
                  ? (openBlock(), createElementBlock(Fragment, { key: 0 }, [
                      _cache[2] || (_cache[2] = createTextVNode(", approved by ", -1 /* CACHED */)),
                      (status.value.approvers && status.value.approvers.length)
                        ? (openBlock(), createElementBlock(Fragment, { key: 0 }, [
                            createElementVNode("strong", null, toDisplayString(status.value.approvers.join(' and ')), 1 /* TEXT */),
                            createTextVNode(" (approval " + toDisplayString((status.value.approvals && status.value.approvals.length ? status.value.approvals : [status.value.approval]).join(', ')) + ")", 1 /* TEXT */)
                          ], 64 /* STABLE_FRAGMENT */))
                        : (openBlock(), createElementBlock(Fragment, { key: 1 }, [
                            _cache[1] || (_cache[1] = createTextVNode("approval ", -1 /* CACHED */)),
                            createElementVNode("strong", null, toDisplayString(status.value.approval), 1 /* TEXT */)
                          ], 64 /* STABLE_FRAGMENT */))
                    ], 64 /* STABLE_FRAGMENT */))
                  : createCommentVNode("v-if", true),
                (status.value.rollout)
                  ? (openBlock(), createElementBlock(Fragment, { key: 1 }, [
                      _cache[3] || (_cache[3] = createTextVNode(", rollout ", -1 /* CACHED */)),
                      createElementVNode("strong", null, toDisplayString(status.value.rollout), 1 /* TEXT */)
                    ], 64 /* STABLE_FRAGMENT */))
                  : createCommentVNode("v-if", true),
                _cache[7] || (_cache[7] = createTextVNode(". ", -1 /* CACHED */)),
                (typeof status.value.gap === 'number')
                  ? (openBlock(), createElementBlock(Fragment, { key: 2 }, [
                      _cache[4] || (_cache[4] = createTextVNode(" Ownership gap now: ", -1 /* CACHED */)),
                      createElementVNode("strong", null, toDisplayString(status.value.gap), 1 /* TEXT */),
                      _cache[5] || (_cache[5] = createTextVNode(". ", -1 /* CACHED */))
                    ], 64 /* STABLE_FRAGMENT */))
                  : createCommentVNode("v-if", true)
              ]))
            : createCommentVNode("v-if", true),
          (reasons.value.length)
            ? (openBlock(), createElementBlock(Fragment, { key: 2 }, [
                createElementVNode("h3", _hoisted_7, "Why it is " + toDisplayString(word.value), 1 /* TEXT */),
                createElementVNode("ul", _hoisted_8, [
                  (openBlock(true), createElementBlock(Fragment, null, renderList(reasons.value, (r, i) => {
                    return (openBlock(), createElementBlock("li", { key: i }, [
                      createTextVNode(toDisplayString(r.message) + " ", 1 /* TEXT */),
                      (r.fix)
                        ? (openBlock(), createElementBlock("span", _hoisted_9, "What clears it: " + toDisplayString(r.fix), 1 /* TEXT */))
                        : createCommentVNode("v-if", true)
                    ]))
                  }), 128 /* KEYED_FRAGMENT */))
                ])
              ], 64 /* STABLE_FRAGMENT */))
            : createCommentVNode("v-if", true),
          (notes.value.length)
            ? (openBlock(), createElementBlock(Fragment, { key: 3 }, [
                _cache[8] || (_cache[8] = createElementVNode("h3", { class: "gg-h3" }, "Notes", -1 /* CACHED */)),
                createElementVNode("ul", null, [
                  (openBlock(true), createElementBlock(Fragment, null, renderList(notes.value, (n, i) => {
                    return (openBlock(), createElementBlock("li", { key: i }, toDisplayString(n), 1 /* TEXT */))
                  }), 128 /* KEYED_FRAGMENT */))
                ])
              ], 64 /* STABLE_FRAGMENT */))
            : createCommentVNode("v-if", true),
          createElementVNode("p", _hoisted_10, [
            createTextVNode(" Checked " + toDisplayString(checkedAt.value || '…') + "; this page asks again every 5 seconds. ", 1 /* TEXT */),
            createElementVNode("button", {
              type: "button",
              class: "gg-link",
              onClick: refreshAll
            }, "Ask now")
          ])
        ]),
        createCommentVNode(" What approving changes "),
        createElementVNode("section", _hoisted_11, [
          createElementVNode("h2", _hoisted_12, toDisplayString(inPlace.value ? 'What approving changed' : 'What approving changes'), 1 /* TEXT */),
          (proposalNote.value)
            ? (openBlock(), createElementBlock("p", _hoisted_13, toDisplayString(proposalNote.value), 1 /* TEXT */))
            : createCommentVNode("v-if", true),
          (proposal.value)
            ? (openBlock(), createElementBlock(Fragment, { key: 1 }, [
                createElementVNode("p", _hoisted_14, [
                  createElementVNode("strong", null, toDisplayString(proposal.value.id), 1 /* TEXT */),
                  (proposal.value.title)
                    ? (openBlock(), createElementBlock(Fragment, { key: 0 }, [
                        createTextVNode(": " + toDisplayString(proposal.value.title), 1 /* TEXT */)
                      ], 64 /* STABLE_FRAGMENT */))
                    : createCommentVNode("v-if", true)
                ]),
                createElementVNode("dl", _hoisted_15, [
                  createElementVNode("div", null, [
                    _cache[10] || (_cache[10] = createElementVNode("dt", null, "Slots", -1 /* CACHED */)),
                    createElementVNode("dd", null, toDisplayString(slotCount.value), 1 /* TEXT */)
                  ]),
                  createElementVNode("div", null, [
                    _cache[11] || (_cache[11] = createElementVNode("dt", null, "Authorities", -1 /* CACHED */)),
                    createElementVNode("dd", null, toDisplayString(authorities.value.length), 1 /* TEXT */)
                  ]),
                  createElementVNode("div", null, [
                    _cache[14] || (_cache[14] = createElementVNode("dt", null, "Ownership gap", -1 /* CACHED */)),
                    createElementVNode("dd", null, [
                      createTextVNode(toDisplayString(proposal.value.gap_before) + " ", 1 /* TEXT */),
                      _cache[12] || (_cache[12] = createElementVNode("span", { "aria-hidden": "true" }, "→", -1 /* CACHED */)),
                      _cache[13] || (_cache[13] = createElementVNode("span", { class: "gg-sr" }, "becomes", -1 /* CACHED */)),
                      createTextVNode(" " + toDisplayString(proposal.value.predicted_gap), 1 /* TEXT */)
                    ])
                  ])
                ]),
                createElementVNode("p", null, [
                  createTextVNode(" Approving it makes " + toDisplayString(authorities.value.length) + " authorities accountable for " + toDisplayString(slotCount.value) + " slots (a slot is one duty of one governed collection). Nothing else changes", 1 /* TEXT */),
                  (protectedList.value.length)
                    ? (openBlock(), createElementBlock(Fragment, { key: 0 }, [
                        createTextVNode(": it never writes the protected collections (" + toDisplayString(protectedList.value.join(', ')) + ")", 1 /* TEXT */)
                      ], 64 /* STABLE_FRAGMENT */))
                    : createCommentVNode("v-if", true),
                  _cache[15] || (_cache[15] = createTextVNode(", and it never changes how apps, workflows or screens behave. ", -1 /* CACHED */))
                ]),
                createElementVNode("p", null, [
                  _cache[16] || (_cache[16] = createTextVNode(" Proposal hash (the approval names exactly this): ", -1 /* CACHED */)),
                  createElementVNode("code", _hoisted_16, toDisplayString(proposal.value.sha256), 1 /* TEXT */)
                ]),
                createElementVNode("div", _hoisted_17, [
                  createElementVNode("table", _hoisted_18, [
                    _cache[17] || (_cache[17] = createElementVNode("caption", null, "Authority by authority", -1 /* CACHED */)),
                    _cache[18] || (_cache[18] = createElementVNode("thead", null, [
                      createElementVNode("tr", null, [
                        createElementVNode("th", { scope: "col" }, "Authority"),
                        createElementVNode("th", {
                          scope: "col",
                          class: "gg-num"
                        }, "Collections"),
                        createElementVNode("th", {
                          scope: "col",
                          class: "gg-num"
                        }, "Slots")
                      ])
                    ], -1 /* CACHED */)),
                    createElementVNode("tbody", null, [
                      (openBlock(true), createElementBlock(Fragment, null, renderList(authorities.value, (a) => {
                        return (openBlock(), createElementBlock("tr", {
                          key: a.authority
                        }, [
                          createElementVNode("th", _hoisted_19, toDisplayString(a.authority), 1 /* TEXT */),
                          createElementVNode("td", _hoisted_20, toDisplayString(Object.keys(a.collections || {}).length), 1 /* TEXT */),
                          createElementVNode("td", _hoisted_21, toDisplayString(a.slots), 1 /* TEXT */)
                        ]))
                      }), 128 /* KEYED_FRAGMENT */))
                    ])
                  ])
                ]),
                (openBlock(true), createElementBlock(Fragment, null, renderList(authorities.value, (a) => {
                  return (openBlock(), createElementBlock("details", {
                    key: `d-${a.authority}`,
                    class: "gg-details"
                  }, [
                    createElementVNode("summary", null, toDisplayString(a.authority) + " becomes accountable for " + toDisplayString(a.slots) + " slots in " + toDisplayString(Object.keys(a.collections || {}).length) + " collections ", 1 /* TEXT */),
                    createElementVNode("div", _hoisted_22, [
                      createElementVNode("table", _hoisted_23, [
                        createElementVNode("caption", _hoisted_24, "Collection by collection, duty by duty (✓: " + toDisplayString(a.authority) + " becomes accountable)", 1 /* TEXT */),
                        createElementVNode("thead", null, [
                          createElementVNode("tr", null, [
                            _cache[19] || (_cache[19] = createElementVNode("th", { scope: "col" }, "Collection", -1 /* CACHED */)),
                            (openBlock(true), createElementBlock(Fragment, null, renderList(duties.value, (d) => {
                              return (openBlock(), createElementBlock("th", {
                                key: d,
                                scope: "col",
                                class: "gg-mark"
                              }, toDisplayString(d), 1 /* TEXT */))
                            }), 128 /* KEYED_FRAGMENT */))
                          ])
                        ]),
                        createElementVNode("tbody", null, [
                          (openBlock(true), createElementBlock(Fragment, null, renderList(a.collections, (ds, collection) => {
                            return (openBlock(), createElementBlock("tr", { key: collection }, [
                              createElementVNode("th", _hoisted_25, toDisplayString(collection), 1 /* TEXT */),
                              (openBlock(true), createElementBlock(Fragment, null, renderList(duties.value, (d) => {
                                return (openBlock(), createElementBlock("td", {
                                  key: d,
                                  class: "gg-mark"
                                }, [
                                  (ds.includes(d))
                                    ? (openBlock(), createElementBlock(Fragment, { key: 0 }, [
                                        _cache[20] || (_cache[20] = createElementVNode("span", { "aria-hidden": "true" }, "✓", -1 /* CACHED */)),
                                        _cache[21] || (_cache[21] = createElementVNode("span", { class: "gg-sr" }, "yes", -1 /* CACHED */))
                                      ], 64 /* STABLE_FRAGMENT */))
                                    : (openBlock(), createElementBlock(Fragment, { key: 1 }, [
                                        _cache[22] || (_cache[22] = createElementVNode("span", { "aria-hidden": "true" }, "–", -1 /* CACHED */)),
                                        _cache[23] || (_cache[23] = createElementVNode("span", { class: "gg-sr" }, "no", -1 /* CACHED */))
                                      ], 64 /* STABLE_FRAGMENT */))
                                ]))
                              }), 128 /* KEYED_FRAGMENT */))
                            ]))
                          }), 128 /* KEYED_FRAGMENT */))
                        ])
                      ])
                    ])
                  ]))
                }), 128 /* KEYED_FRAGMENT */))
              ], 64 /* STABLE_FRAGMENT */))
            : createCommentVNode("v-if", true)
        ]),
        createCommentVNode(" Approve "),
        createElementVNode("section", _hoisted_26, [
          _cache[33] || (_cache[33] = createElementVNode("h2", {
            id: "gg-approve-heading",
            class: "gg-h2"
          }, "Approve", -1 /* CACHED */)),
          (me.value && me.value.agent)
            ? (openBlock(), createElementBlock("p", _hoisted_27, " You are signed in as the agent's Directus user: the agent never approves. A person approves. "))
            : (!canApprove.value)
              ? (openBlock(), createElementBlock("p", _hoisted_28, " Your Directus policies do not allow creating approvals: you can read everything here, but approving is for the people the operator named. "))
              : (openBlock(), createElementBlock(Fragment, { key: 2 }, [
                  (!proposal.value)
                    ? (openBlock(), createElementBlock("p", _hoisted_29, "There is no proposal to approve."))
                    : (inPlace.value)
                      ? (openBlock(), createElementBlock("p", _hoisted_30, "This proposal is in place already; there is nothing to approve."))
                      : (openBlock(), createElementBlock(Fragment, { key: 2 }, [
                          createElementVNode("p", null, [
                            _cache[24] || (_cache[24] = createTextVNode(" You approve proposal ", -1 /* CACHED */)),
                            createElementVNode("strong", null, toDisplayString(proposal.value.id), 1 /* TEXT */),
                            _cache[25] || (_cache[25] = createTextVNode(" with hash ", -1 /* CACHED */)),
                            createElementVNode("code", _hoisted_31, toDisplayString(proposal.value.sha256), 1 /* TEXT */),
                            _cache[26] || (_cache[26] = createTextVNode(". Your passkey signs the approval; Directus records that you made it. To confirm, type the approval id ", -1 /* CACHED */)),
                            createElementVNode("code", null, toDisplayString(approvalIdOf(proposal.value)), 1 /* TEXT */),
                            _cache[27] || (_cache[27] = createTextVNode(". ", -1 /* CACHED */))
                          ]),
                          (obstacle.value)
                            ? (openBlock(), createElementBlock("p", _hoisted_32, toDisplayString(obstacle.value), 1 /* TEXT */))
                            : createCommentVNode("v-if", true),
                          createElementVNode("form", {
                            class: "gg-form",
                            onSubmit: withModifiers(approve, ["prevent"])
                          }, [
                            _cache[28] || (_cache[28] = createElementVNode("label", { for: "gg-typed-id" }, "Type the approval id", -1 /* CACHED */)),
                            withDirectives(createElementVNode("input", {
                              id: "gg-typed-id",
                              "onUpdate:modelValue": _cache[0] || (_cache[0] = $event => ((typedId).value = $event)),
                              class: "gg-input",
                              type: "text",
                              autocomplete: "off",
                              autocapitalize: "off",
                              spellcheck: "false",
                              "aria-invalid": typedId.value !== '' && typedId.value !== approvalIdOf(proposal.value) ? 'true' : 'false',
                              "aria-describedby": "gg-typed-help"
                            }, null, 8 /* PROPS */, _hoisted_33), [
                              [
                                vModelText,
                                typedId.value,
                                void 0,
                                { trim: true }
                              ]
                            ]),
                            createElementVNode("span", _hoisted_34, " It must match exactly: " + toDisplayString(approvalIdOf(proposal.value)), 1 /* TEXT */),
                            createElementVNode("button", {
                              type: "submit",
                              class: "gg-button",
                              disabled: busy.value || !!obstacle.value || passkeys.value.length === 0 || typedId.value === ''
                            }, toDisplayString(busy.value === 'approve' ? 'Waiting for your passkey…' : 'Approve with passkey'), 9 /* TEXT, PROPS */, _hoisted_35),
                            (passkeys.value.length === 0 && !obstacle.value)
                              ? (openBlock(), createElementBlock("span", _hoisted_36, " Register a passkey first (below). "))
                              : createCommentVNode("v-if", true)
                          ], 32 /* NEED_HYDRATION */),
                          (payload.value)
                            ? (openBlock(), createElementBlock("details", _hoisted_37, [
                                _cache[30] || (_cache[30] = createElementVNode("summary", null, "What your passkey signed", -1 /* CACHED */)),
                                createElementVNode("p", _hoisted_38, [
                                  _cache[29] || (_cache[29] = createTextVNode("Challenge (SHA-256 of the payload): ", -1 /* CACHED */)),
                                  createElementVNode("code", _hoisted_39, toDisplayString(payload.value.challenge), 1 /* TEXT */)
                                ]),
                                createElementVNode("pre", _hoisted_40, toDisplayString(payload.value.payload), 1 /* TEXT */)
                              ]))
                            : createCommentVNode("v-if", true)
                        ], 64 /* STABLE_FRAGMENT */))
                ], 64 /* STABLE_FRAGMENT */)),
          (approveError.value)
            ? (openBlock(), createElementBlock("p", _hoisted_41, toDisplayString(approveError.value), 1 /* TEXT */))
            : createCommentVNode("v-if", true),
          (approveDone.value)
            ? (openBlock(), createElementBlock("p", _hoisted_42, toDisplayString(approveDone.value), 1 /* TEXT */))
            : createCommentVNode("v-if", true),
          (me.value && !me.value.agent)
            ? (openBlock(), createElementBlock(Fragment, { key: 5 }, [
                _cache[31] || (_cache[31] = createElementVNode("h3", { class: "gg-h3" }, "Your passkeys", -1 /* CACHED */)),
                _cache[32] || (_cache[32] = createElementVNode("p", { class: "gg-muted" }, [
                  createTextVNode(" A passkey counts for approvals only after an operator adds it to the allowed signers file ("),
                  createElementVNode("code", null, "[approvals] allowed_signers"),
                  createTextVNode(" in govgate.toml). Registering it here does not make it trusted. ")
                ], -1 /* CACHED */)),
                (passkeyNote.value)
                  ? (openBlock(), createElementBlock("p", _hoisted_43, toDisplayString(passkeyNote.value), 1 /* TEXT */))
                  : createCommentVNode("v-if", true),
                (passkeys.value.length)
                  ? (openBlock(), createElementBlock("ul", _hoisted_44, [
                      (openBlock(true), createElementBlock(Fragment, null, renderList(passkeys.value, (k) => {
                        return (openBlock(), createElementBlock("li", {
                          key: k.credential_id
                        }, [
                          createElementVNode("code", _hoisted_45, toDisplayString(k.credential_id), 1 /* TEXT */),
                          createElementVNode("span", _hoisted_46, "(" + toDisplayString(algorithmName(k.algorithm)) + ", registered " + toDisplayString(k.created_at) + ")", 1 /* TEXT */)
                        ]))
                      }), 128 /* KEYED_FRAGMENT */))
                    ]))
                  : createCommentVNode("v-if", true),
                createElementVNode("button", {
                  type: "button",
                  class: "gg-button gg-secondary",
                  disabled: busy.value || !!obstacle.value,
                  onClick: register
                }, toDisplayString(busy.value === 'register' ? 'Waiting for your authenticator…' : 'Register a passkey'), 9 /* TEXT, PROPS */, _hoisted_47),
                (registerError.value)
                  ? (openBlock(), createElementBlock("p", _hoisted_48, toDisplayString(registerError.value), 1 /* TEXT */))
                  : createCommentVNode("v-if", true),
                (registerDone.value)
                  ? (openBlock(), createElementBlock("p", _hoisted_49, toDisplayString(registerDone.value), 1 /* TEXT */))
                  : createCommentVNode("v-if", true)
              ], 64 /* STABLE_FRAGMENT */))
            : createCommentVNode("v-if", true)
        ]),
        createCommentVNode(" The last report "),
        createElementVNode("section", _hoisted_50, [
          _cache[34] || (_cache[34] = createElementVNode("h2", {
            id: "gg-report-heading",
            class: "gg-h2"
          }, "The last rollout", -1 /* CACHED */)),
          (reportNote.value)
            ? (openBlock(), createElementBlock("p", _hoisted_51, toDisplayString(reportNote.value), 1 /* TEXT */))
            : (openBlock(), createElementBlock("ul", _hoisted_52, [
                (openBlock(true), createElementBlock(Fragment, null, renderList(sentences.value, (s, i) => {
                  return (openBlock(), createElementBlock("li", { key: i }, toDisplayString(s), 1 /* TEXT */))
                }), 128 /* KEYED_FRAGMENT */))
              ]))
        ]),
        createCommentVNode(" The audit trail "),
        createElementVNode("section", _hoisted_53, [
          _cache[38] || (_cache[38] = createElementVNode("h2", {
            id: "gg-audit-heading",
            class: "gg-h2"
          }, "Audit trail", -1 /* CACHED */)),
          (auditNote.value)
            ? (openBlock(), createElementBlock("p", _hoisted_54, toDisplayString(auditNote.value), 1 /* TEXT */))
            : (audit.value)
              ? (openBlock(), createElementBlock(Fragment, { key: 1 }, [
                  (audit.value.chain && audit.value.chain.ok)
                    ? (openBlock(), createElementBlock("p", _hoisted_55, [
                        _cache[35] || (_cache[35] = createElementVNode("span", { class: "gg-ok" }, "Chain intact", -1 /* CACHED */)),
                        createTextVNode(": all " + toDisplayString(audit.value.chain.rows) + " events are as they were written; none was edited or removed. ", 1 /* TEXT */)
                      ]))
                    : (openBlock(), createElementBlock("p", _hoisted_56, [
                        _cache[36] || (_cache[36] = createElementVNode("span", { class: "gg-bad" }, "Chain BROKEN", -1 /* CACHED */)),
                        createTextVNode(": " + toDisplayString(audit.value.chain && audit.value.chain.problem), 1 /* TEXT */)
                      ])),
                  createElementVNode("div", _hoisted_57, [
                    createElementVNode("table", _hoisted_58, [
                      createElementVNode("caption", null, "The newest " + toDisplayString(events.value.length) + " events, newest first", 1 /* TEXT */),
                      _cache[37] || (_cache[37] = createElementVNode("thead", null, [
                        createElementVNode("tr", null, [
                          createElementVNode("th", {
                            scope: "col",
                            class: "gg-num"
                          }, "#"),
                          createElementVNode("th", { scope: "col" }, "When (UTC)"),
                          createElementVNode("th", { scope: "col" }, "What"),
                          createElementVNode("th", { scope: "col" }, "Who"),
                          createElementVNode("th", { scope: "col" }, "About")
                        ])
                      ], -1 /* CACHED */)),
                      createElementVNode("tbody", null, [
                        (openBlock(true), createElementBlock(Fragment, null, renderList(events.value, (e) => {
                          return (openBlock(), createElementBlock("tr", {
                            key: e.seq
                          }, [
                            createElementVNode("th", _hoisted_59, toDisplayString(e.seq), 1 /* TEXT */),
                            createElementVNode("td", _hoisted_60, toDisplayString(String(e.at || '').slice(0, 19).replace('T', ' ')), 1 /* TEXT */),
                            createElementVNode("td", null, toDisplayString(e.kind), 1 /* TEXT */),
                            createElementVNode("td", null, toDisplayString(e.actor), 1 /* TEXT */),
                            createElementVNode("td", null, toDisplayString([e.proposal ?? e.proposal_id, e.rollout ?? e.rollout_id].filter(Boolean).join(' · ')), 1 /* TEXT */)
                          ]))
                        }), 128 /* KEYED_FRAGMENT */))
                      ])
                    ])
                  ])
                ], 64 /* STABLE_FRAGMENT */))
              : createCommentVNode("v-if", true)
        ])
      ])
    ]),
    _: 1 /* STABLE */
  }))
}
}

};
var GovernancePage = /*#__PURE__*/_export_sfc(_sfc_main$1, [['__scopeId',"data-v-6e2b7a65"]]);

// Module `governance`: the gate's word, what approving changes, approval with a passkey,
// the last report and the audit trail, inside the Directus app.

var e0 = defineModule({
	id: 'governance',
	name: 'Governance',
	icon: 'gavel',
	routes: [
		{
			path: '',
			component: GovernancePage,
		},
	],
});

var css = "\n.gg-panel[data-v-1ed6b955] {\n\tcontainer-type: inline-size;\n\tdisplay: flex;\n\tflex-direction: column;\n\tjustify-content: safe center;\n\talign-items: flex-start;\n\theight: 100%;\n\tpadding: 12px 16px;\n\toverflow: hidden auto;\n\tcolor: var(--theme--foreground-accent, #172940);\n}\n.gg-panel.has-header[data-v-1ed6b955] {\n\tpadding-top: 0;\n}\n.gg-panel p[data-v-1ed6b955] {\n\tmargin: 0 0 6px;\n}\n.gg-panel-word[data-v-1ed6b955] {\n\t/* The word fits the panel's width: about 6.5 em for BLOCKED with its padding. */\n\tfont-size: clamp(16px, 12cqw, 48px);\n}\n.gg-panel-gap[data-v-1ed6b955] {\n\tfont-size: 18px;\n}\n.gg-panel-muted[data-v-1ed6b955] {\n\tcolor: var(--theme--foreground, #4f5464);\n\tfont-size: 13px;\n}\n.gg-panel-reasons[data-v-1ed6b955] {\n\tmargin: 4px 0 0;\n\tpadding-left: 18px;\n\tlist-style: disc;\n\tfont-size: 13px;\n}\n.gg-sr[data-v-1ed6b955] {\n\tposition: absolute;\n\twidth: 1px;\n\theight: 1px;\n\toverflow: hidden;\n\tclip: rect(0 0 0 0);\n\twhite-space: nowrap;\n}\n";
n(css,{});

const _hoisted_1 = {
  class: "gg-panel-word",
  role: "status",
  "aria-live": "polite",
  "aria-atomic": "true"
};
const _hoisted_2 = {
  key: 0,
  class: "gg-panel-gap"
};
const _hoisted_3 = {
  key: 1,
  class: "gg-panel-muted"
};
const _hoisted_4 = {
  key: 2,
  class: "gg-panel-muted"
};
const _hoisted_5 = {
  key: 3,
  class: "gg-panel-reasons"
};

const REFRESH_MS = 10000;

const _sfc_main = {
  __name: 'panel',
  props: {
	showHeader: { type: Boolean, default: false },
	showReasons: { type: Boolean, default: true },
},
  setup(__props) {



const api = useApi();
const status = ref(null);

const word = computed(() => wordOf(status.value));
const tone = computed(() => WORDS[word.value].tone);
const reasons = computed(() => (Array.isArray(status.value?.reasons) ? status.value.reasons : []));

async function refresh() {
	try {
		status.value = (await api.get('/govgate/status')).data;
	} catch (error) {
		status.value = unknownStatus(error);
	}
}

let timer = null;
onMounted(() => {
	refresh();
	timer = setInterval(refresh, REFRESH_MS);
});
onBeforeUnmount(() => {
	if (timer) clearInterval(timer);
});

return (_ctx, _cache) => {
  return (openBlock(), createElementBlock("div", {
    class: normalizeClass(["gg-panel", { 'has-header': __props.showHeader }])
  }, [
    createElementVNode("p", _hoisted_1, [
      _cache[0] || (_cache[0] = createElementVNode("span", { class: "gg-sr" }, "The gate says ", -1 /* CACHED */)),
      createElementVNode("span", {
        class: normalizeClass(['gg-word', `tone-${tone.value}`])
      }, toDisplayString(word.value), 3 /* TEXT, CLASS */)
    ]),
    (typeof status.value?.gap === 'number')
      ? (openBlock(), createElementBlock("p", _hoisted_2, [
          _cache[1] || (_cache[1] = createTextVNode(" Ownership gap: ", -1 /* CACHED */)),
          createElementVNode("strong", null, toDisplayString(status.value.gap), 1 /* TEXT */)
        ]))
      : createCommentVNode("v-if", true),
    (status.value?.proposal)
      ? (openBlock(), createElementBlock("p", _hoisted_3, "Proposal " + toDisplayString(status.value.proposal), 1 /* TEXT */))
      : createCommentVNode("v-if", true),
    (word.value === 'UNKNOWN' && status.value?.reason)
      ? (openBlock(), createElementBlock("p", _hoisted_4, toDisplayString(status.value.reason), 1 /* TEXT */))
      : createCommentVNode("v-if", true),
    (__props.showReasons !== false && reasons.value.length)
      ? (openBlock(), createElementBlock("ul", _hoisted_5, [
          (openBlock(true), createElementBlock(Fragment, null, renderList(reasons.value, (r, i) => {
            return (openBlock(), createElementBlock("li", { key: i }, toDisplayString(r.message), 1 /* TEXT */))
          }), 128 /* KEYED_FRAGMENT */))
        ]))
      : createCommentVNode("v-if", true)
  ], 2 /* CLASS */))
}
}

};
var GatePanel = /*#__PURE__*/_export_sfc(_sfc_main, [['__scopeId',"data-v-1ed6b955"]]);

// Panel `govgate-gate` for Insights dashboards: the gate's word and the ownership gap.

var e1 = definePanel({
	id: 'govgate-gate',
	name: 'govgate gate',
	icon: 'gavel',
	description: 'The gate\'s word (BLOCKED, READY, APPLIED, DRIFTED) and the ownership gap, asked from govgate every 10 seconds.',
	component: GatePanel,
	options: [
		{
			field: 'showReasons',
			name: 'Show the reasons',
			type: 'boolean',
			meta: {
				interface: 'boolean',
				width: 'half',
				note: 'List why the gate is not READY or APPLIED.',
			},
			schema: {
				default_value: true,
			},
		},
	],
	minWidth: 12,
	minHeight: 8,
});

const interfaces = [];const displays = [];const layouts = [];const modules = [e0];const panels = [e1];const themes = [];const operations = [];

export { displays, interfaces, layouts, modules, operations, panels, themes };
