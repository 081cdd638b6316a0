// Ids: UUID v7 (time-ordered) so rows and log keys sort roughly by creation,
// which keeps B-tree inserts at the right edge. From the `uuid` package.

import { v7 } from 'uuid';

export const newId = (): string => v7();
