// Panel `govgate-gate` for Insights dashboards: the gate's word and the ownership gap.
import { definePanel } from '@directus/extensions-sdk';
import GatePanel from './panel.vue';

export default definePanel({
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
