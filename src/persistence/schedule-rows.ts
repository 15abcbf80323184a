import type { ScheduleRecord } from '../ports/schedule.store.port.js';
import type { WorkflowScheduleRow } from './tables/workflow-schedule.table.js';

/** A schedule row as the store port shows it: without the claim, which only the store reads. */
export const toScheduleRecord = ({ claimedUntil: _until, claimedBy: _by, ...row }: WorkflowScheduleRow): ScheduleRecord => row;
