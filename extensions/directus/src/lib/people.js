// Who is asking: the Directus user behind a request or an event, and whether it is the agent's.

/** The configured agent user(s): env GOVGATE_AGENT_USER, ids or e-mails, comma-separated. */
export function agentUsers(env) {
	const raw = env?.GOVGATE_AGENT_USER ?? process.env.GOVGATE_AGENT_USER;
	if (raw === undefined || raw === null) return [];
	return String(raw)
		.split(',')
		.map((part) => part.trim().toLowerCase())
		.filter((part) => part.length > 0);
}

/** The user id of an accountability, or null (no accountability, or the public role). */
export function userOf(accountability) {
	const user = accountability?.user;
	return typeof user === 'string' && user.length > 0 ? user : null;
}

/**
 * True when USER_ID is the agent's Directus user: its id or its e-mail is in GOVGATE_AGENT_USER.
 * DATABASE is the knex handle of the event (the transaction of the write), used to read the e-mail.
 */
export async function isAgentUser(env, database, userId) {
	const agents = agentUsers(env);
	if (agents.length === 0 || !userId) return false;
	if (agents.includes(String(userId).toLowerCase())) return true;
	if (!agents.some((agent) => agent.includes('@'))) return false;
	const row = await database.select('email').from('directus_users').where({ id: userId }).first();
	const email = typeof row?.email === 'string' ? row.email.trim().toLowerCase() : null;
	return email !== null && agents.includes(email);
}
