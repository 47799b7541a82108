import type { AnyRoute } from './define.ts';
import { authRoutes } from './auth.ts';
import { meRoutes } from './me.ts';
import { userRoutes } from './users.ts';
import { userGroupRoutes } from './userGroups.ts';
import { nodeRoutes } from './nodes.ts';
import { assetRoutes } from './assets.ts';
import { accountRoutes } from './accounts.ts';
import { permissionRoutes } from './permissions.ts';
import { auditRoutes } from './audit.ts';
import { opsRoutes } from './ops.ts';
import { controlRoutes } from './control.ts';
import { sessionRoutes } from './sessions.ts';
import { recordingSegmentRoutes } from './recordingSegments.ts';
import { commandRoutes } from './commands.ts';
import { bulkRoutes } from './bulk.ts';

/** Every API route, in the order they are matched. Add a resource's routes here. */
export const allRoutes: AnyRoute[] = [
  ...authRoutes,
  ...meRoutes,
  // Before the resources' /:id routes, which would take "bulk" for an id.
  ...bulkRoutes,
  ...userRoutes,
  ...userGroupRoutes,
  ...nodeRoutes,
  ...assetRoutes,
  ...accountRoutes,
  ...permissionRoutes,
  ...auditRoutes,
  ...opsRoutes,
  ...controlRoutes,
  ...sessionRoutes,
  ...recordingSegmentRoutes,
  ...commandRoutes,
];
