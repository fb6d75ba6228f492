// Module `governance`: the gate's word, what approving changes, approval with a passkey,
// the last report and the audit trail, inside the Directus app.
import { defineModule } from '@directus/extensions-sdk';
import GovernancePage from './governance.vue';

export default defineModule({
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
