// Ids: UUID v7 (time-ordered) so rows and log keys sort roughly by creation,
// which keeps B-tree inserts at the right edge. From the `uuid` package.

import { v7 } from 'uuid';

export const newId = (): string => v7();

/**
 * Who acted when no user did: the operator, at the command line (`parley
 * admin`). The nil UUID, so it fits wherever a user id goes (the audit).
 */
export const OPERATOR_ID = '00000000-0000-0000-0000-000000000000';
