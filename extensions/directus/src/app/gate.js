// What the app side (module and panel) shows about the gate: words, colours, plain sentences.

export const WORDS = {
	BLOCKED: { tone: 'blocked', says: 'The rollout may not run: see why below.' },
	READY: { tone: 'ready', says: 'A person approved this exact proposal and production is as expected: the agent may run it.' },
	APPLIED: { tone: 'applied', says: 'The approved rollout is in place and verified.' },
	DRIFTED: { tone: 'drifted', says: 'The rollout is in place, but its records were changed afterwards.' },
	UNKNOWN: { tone: 'unknown', says: 'govgate cannot be asked right now.' },
};

/** The gate's word from a /govgate/status answer (anything unexpected is UNKNOWN). */
export function wordOf(status) {
	const word = typeof status?.status === 'string' ? status.status.toUpperCase() : 'UNKNOWN';
	return WORDS[word] ? word : 'UNKNOWN';
}

/** The message of an error thrown by useApi() (axios): Directus's errors[0].message, govgate serve's
 * error.message, else its own. */
export function messageOf(error) {
	const data = error?.response?.data;
	const first = Array.isArray(data?.errors) ? data.errors[0] : null;
	if (first?.message) return first.message;
	if (typeof data?.error?.message === 'string') return data.error.message; // govgate serve's error document
	if (typeof data?.message === 'string') return data.message;
	if (typeof data?.reason === 'string') return data.reason;
	return error?.message ?? String(error);
}

/** The status answer to show when the endpoint itself could not be asked. */
export function unknownStatus(error) {
	return { status: 'UNKNOWN', reason: `the govgate endpoint did not answer: ${messageOf(error)}` };
}

/** The last rollout's report in plain words (the same sentences as `govgate report`). */
export function reportSentences(report) {
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
