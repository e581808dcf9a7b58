/**
 * AuditEvents after IHE Basic Audit Log Patterns (BALP): PatientRead for read/vread,
 * PatientQuery for searches and operations, PatientCreate/Update/Delete for writes, one event
 * per patient concerned; failures and denials too (outcome 4 or 8 with the reason). Agents:
 * the client application (by client_id), the organization it acts for (医療機関コード,
 * 保険者番号 or database name) with the purpose of use, and medid itself.
 *
 * Recording is cheap: `auditRow` fills the log's columns. `toAuditEvent` renders the FHIR
 * AuditEvent from a row when someone reads the log.
 */
import type { AuditEvent, AuditEventAgent, AuditEventEntity, Coding } from '@medplum/fhirtypes';
import type { Organization, OrgKind, Principal } from '../core/principal.ts';
import { ID_SYSTEMS, PROFILES, SYSTEMS } from '../core/systems.ts';
import type { AuditRow } from '../store/audit.ts';

export type AuditAction = 'C' | 'R' | 'U' | 'D' | 'E';

export interface AuditInput {
  action: AuditAction;
  /** restful-interaction code (read, vread, search-type, create, …), `login`, or an operation ($match). */
  subtype: string;
  /** An IHE event type code (ITI-119 for $match), when the operation has one. */
  subtypeIhe?: string;
  /** 0 success, 4 minor failure (4xx, denials), 8 serious failure (5xx). */
  outcome: 0 | 4 | 8 | 12;
  outcomeDesc?: string;
  principal: Principal | undefined;
  /** For failed authentication: the client id the request claimed. */
  claimedClientId?: string;
  purposeOfUse: string;
  requestId: string;
  remoteAddress: string | undefined;
  patientId: string | undefined;
  /** Type/id[/_history/v] of the resource read, written or operated on. */
  entity?: string;
  /** The query string of a search (BALP: base64 in entity.query). */
  query?: string;
  /** The organization that provided what was resolved (the provider that sealed an envelope, R21). */
  provider?: Organization;
  /** `login` for token-endpoint authentication events (DCM 110114 / 110122). */
  eventType?: 'rest' | 'login';
  recorded: Date;
}

export interface AuditServer {
  baseUrl: string;
}

export function auditRow(i: AuditInput): AuditRow {
  const p = i.principal;
  return {
    recorded: i.recorded.toISOString(),
    eventType: i.eventType ?? 'rest',
    action: i.action,
    subtype: i.subtype,
    subtypeIhe: i.subtypeIhe ?? null,
    outcome: i.outcome,
    outcomeDesc: i.outcomeDesc ?? null,
    patientId: i.patientId ?? null,
    clientId: p?.clientId ?? i.claimedClientId ?? null,
    clientName: p?.clientName ?? null,
    // A person signed in acts for themselves: recorded as the requestor by their Patient id.
    orgKind: p?.person !== undefined ? 'person' : (p?.org?.kind ?? null),
    orgCode: p?.person ?? p?.org?.code ?? null,
    purpose: i.purposeOfUse,
    requestId: i.requestId,
    remoteAddr: i.remoteAddress ?? null,
    tokenId: p?.tokenId ?? null,
    entityRef: i.entity ?? null,
    query: i.query ?? null,
    providerKind: i.provider?.kind ?? null,
    providerCode: i.provider?.code ?? null,
  };
}

const REST_TYPE: Coding = { system: SYSTEMS.auditEventType, code: 'rest', display: 'Restful Operation' };
const LOGIN_TYPE: Coding = { system: SYSTEMS.dicom, code: '110114', display: 'User Authentication' };
const SOURCE: Coding = { system: SYSTEMS.dicom, code: '110153', display: 'Source Role ID' };
const DEST: Coding = { system: SYSTEMS.dicom, code: '110152', display: 'Destination Role ID' };

/** The identifier system of each kind of organization's code (the AuditEvent agent's, and the usage report's). */
export const ORG_SYSTEM: Record<OrgKind, string> = {
  'medical-institution': ID_SYSTEMS.medicalInstitutionCode,
  insurer: ID_SYSTEMS.insurerNumber,
  database: ID_SYSTEMS.utilizingDatabase,
  'regional-network': ID_SYSTEMS.regionalNetwork,
  authority: ID_SYSTEMS.authorityUnit,
};

const PROFILE: Record<string, string> = {
  R: 'IHE.BasicAudit.PatientRead',
  E: 'IHE.BasicAudit.PatientQuery',
  C: 'IHE.BasicAudit.PatientCreate',
  U: 'IHE.BasicAudit.PatientUpdate',
  D: 'IHE.BasicAudit.PatientDelete',
};

const purpose = (code: string): { coding: Coding[] } => ({ coding: [{ system: SYSTEMS.actReason, code }] });

/** The FHIR AuditEvent a log row stands for; its id is the log's sequence number. */
export function toAuditEvent(r: AuditRow & { seq: number }, server: AuditServer): AuditEvent {
  // BALP: for reads the client receives (Destination) and the server sends (Source); for
  // queries and writes the client is the Source and the server the Destination.
  const clientIsSource = r.action !== 'R';
  const client: AuditEventAgent = {
    type: { coding: [clientIsSource ? SOURCE : DEST] },
    who: r.clientId
      ? { identifier: { system: ID_SYSTEMS.clientId, value: r.clientId }, ...(r.clientName ? { display: r.clientName } : {}) }
      : { display: 'unauthenticated client' },
    requestor: false,
  };
  if (r.clientId) client.altId = r.clientId;
  if (r.remoteAddr) client.network = { address: r.remoteAddr, type: '2' };
  if (r.tokenId) client.policy = [`urn:uuid:${r.tokenId}`];
  const agents: AuditEventAgent[] = [client];
  if (r.orgKind === 'person' && r.orgCode) {
    agents.push({
      type: { coding: [{ system: SYSTEMS.participationType, code: 'IRCP', display: 'information recipient' }] },
      who: { reference: `Patient/${r.orgCode}` },
      requestor: true,
      purposeOfUse: [purpose(r.purpose)],
    });
  } else if (r.orgKind && r.orgCode) {
    agents.push({
      type: { coding: [{ system: SYSTEMS.participationType, code: 'IRCP', display: 'information recipient' }] },
      who: { identifier: { system: ORG_SYSTEM[r.orgKind as OrgKind], value: r.orgCode } },
      requestor: true,
      purposeOfUse: [purpose(r.purpose)],
    });
  }
  if (r.providerKind && r.providerCode) {
    // The organization whose sealed envelope this disclosure resolved: the source of the information (R21).
    agents.push({
      type: { coding: [{ system: SYSTEMS.participationType, code: 'INF', display: 'informant' }] },
      who: { identifier: { system: ORG_SYSTEM[r.providerKind as OrgKind], value: r.providerCode } },
      requestor: false,
    });
  }
  agents.push({
    type: { coding: [clientIsSource ? DEST : SOURCE] },
    who: { display: 'medid', identifier: { value: server.baseUrl } },
    requestor: false,
    network: { address: new URL(server.baseUrl).hostname, type: '1' },
  });
  const entities: AuditEventEntity[] = [];
  if (r.patientId) {
    entities.push({
      what: { reference: `Patient/${r.patientId}` },
      type: { system: SYSTEMS.auditEntityType, code: '1', display: 'Person' },
      role: { system: SYSTEMS.objectRole, code: '1', display: 'Patient' },
    });
  }
  if (r.entityRef) {
    entities.push({
      what: { reference: r.entityRef },
      type: { system: SYSTEMS.auditEntityType, code: '2', display: 'System Object' },
      role: { system: SYSTEMS.objectRole, code: '4', display: 'Domain Resource' },
    });
  }
  if (r.query !== null) {
    entities.push({
      type: { system: SYSTEMS.auditEntityType, code: '2', display: 'System Object' },
      role: { system: SYSTEMS.objectRole, code: '24', display: 'Query' },
      query: Buffer.from(r.query, 'utf8').toString('base64'),
    });
  }
  if (r.requestId)
    entities.push({ what: { identifier: { value: r.requestId } }, type: { system: SYSTEMS.balpEntityType, code: 'XrequestId' } });
  const login = r.eventType === 'login';
  const subtype: Coding[] = login
    ? [{ system: SYSTEMS.dicom, code: '110122', display: 'Login' }]
    : [
        r.subtype.startsWith('$')
          ? { system: SYSTEMS.restfulInteraction, code: 'operation', display: r.subtype }
          : { system: SYSTEMS.restfulInteraction, code: r.subtype },
      ];
  if (r.subtypeIhe) subtype.push({ system: SYSTEMS.iheEventType, code: r.subtypeIhe });
  const event: AuditEvent = {
    resourceType: 'AuditEvent',
    id: String(r.seq),
    meta: {
      versionId: '1',
      lastUpdated: r.recorded,
      ...(login ? {} : { profile: [`${PROFILES.balpBase}/${PROFILE[r.action] ?? PROFILE['E']}`] }),
    },
    type: login ? LOGIN_TYPE : REST_TYPE,
    subtype,
    action: r.action as AuditEvent['action'],
    recorded: r.recorded,
    outcome: String(r.outcome) as AuditEvent['outcome'],
    purposeOfEvent: [purpose(r.purpose)],
    agent: agents,
    source: {
      observer: { display: 'medid', identifier: { value: server.baseUrl } },
      type: [{ system: SYSTEMS.securitySourceType, code: '4', display: 'Application Server' }],
    },
    entity: entities,
  };
  if (r.outcomeDesc) event.outcomeDesc = r.outcomeDesc;
  return event;
}
