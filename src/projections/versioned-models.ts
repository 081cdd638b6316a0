// The read models that `parley rebuild` can rebuild into fresh tables and that
// servers follow from version to version (projections/versions.ts).

import { chatModel } from './chat-schema.ts';
import type { VersionedModel } from './versions.ts';

export const versionedModels: readonly VersionedModel[] = [chatModel];
