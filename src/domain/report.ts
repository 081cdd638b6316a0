// The report aggregate (issue 15): a user reports a message or another user to
// the moderators, saying why; a moderator resolves it once, as actioned (they
// did something: removed the message, banned or suspended someone) or
// dismissed. Who may file (they can see the message) and who may resolve (a
// global admin, or an owner or admin of the message's room) is checked at
// intake, against the read model, like the other permission checks that need
// more than the aggregate's own state.

import { assertNever, Rejection, type Command, type DomainEvent } from './decider.ts';

export type ReportResolution = 'actioned' | 'dismissed';

/**
 * `reason` is the reporter's text, sealed with the reporter's key. A report of
 * a message names its room, the message and its sender (`target_user_id`); a
 * report of a user names only them.
 */
export type FileReport = Command<
  'file_report',
  { report_id: string; target_user_id: string; room_id: string | null; message_id: string | null; reason: string }
>;
export type ResolveReport = Command<'resolve_report', { report_id: string; resolution: ReportResolution }>;
export type ReportCommand = FileReport | ResolveReport;

export type ReportFiled = DomainEvent<
  'report_filed',
  {
    report_id: string;
    reporter_id: string;
    target_user_id: string;
    room_id: string | null;
    message_id: string | null;
    reason: string;
    filed_at: number;
  }
>;
export type ReportResolved = DomainEvent<
  'report_resolved',
  { report_id: string; resolution: ReportResolution; resolved_by: string; resolved_at: number }
>;
export type ReportEvent = ReportFiled | ReportResolved;

export interface ReportState {
  filed: boolean;
  resolution: ReportResolution | null;
}

export const initialReportState = (): ReportState => ({ filed: false, resolution: null });
export const reportAggregateId = (reportId: string): string => `report:${reportId}`;

export function decideReport(command: ReportCommand, state: ReportState): ReportEvent[] {
  const at = command.metadata.at;
  const by = command.metadata.user_id;
  if (by === null) throw new Rejection('forbidden', 'a report needs a user');
  switch (command.type) {
    case 'file_report': {
      if (state.filed) throw new Rejection('already_exists', 'report already filed');
      if (command.data.target_user_id === by) throw new Rejection('self_request', 'you cannot report yourself');
      return [{ type: 'report_filed', data: { ...command.data, reporter_id: by, filed_at: at } }];
    }
    case 'resolve_report': {
      if (!state.filed) throw new Rejection('not_found', 'report not found');
      if (state.resolution === command.data.resolution) return [];
      if (state.resolution !== null) throw new Rejection('invalid_state', `the report was ${state.resolution} already`);
      return [{ type: 'report_resolved', data: { ...command.data, resolved_by: by, resolved_at: at } }];
    }
    default:
      return assertNever(command);
  }
}

export function evolveReport(state: ReportState, event: ReportEvent): ReportState {
  switch (event.type) {
    case 'report_filed':
      return { ...state, filed: true };
    case 'report_resolved':
      return { ...state, resolution: event.data.resolution };
    default:
      return assertNever(event);
  }
}

export const reportDecider = {
  initialState: initialReportState,
  decide: decideReport,
  evolve: evolveReport,
};
