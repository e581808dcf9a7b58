/**
 * Registration records ↔ medid Patient resources. The registry builds the Patient it stores
 * from the normalized record, so it holds exactly the fields the authority needs (data
 * minimization) in the medid-patient profile's shape: names in kanji (IDE) and kana (SYL), the
 * medical ID, and every insured number with its period.
 */
import type { HumanName, Identifier, Patient } from '@medplum/fhirtypes';
import { ID_SYSTEMS, NAME_REPRESENTATION, PROFILES } from '../core/systems.ts';
import type { IdentifierRules } from '../identifiers/kind.ts';
import { japanDay } from '../jp/date.ts';
import { representationOf } from '../jp/names.ts';
import { normalizeRecord } from './record.ts';
import type { FieldPaths, RecordIssue, RecordResult, RegistrationRecord } from './record.ts';

const isCurrent = (n: HumanName): boolean => n.use !== 'old';
/** A provisional name (a newborn not yet named): FHIR's `temp` use, "temporary names assigned at birth". */
const isProvisional = (n: HumanName): boolean => n.use === 'temp';

/** Whether the Patient's current names are provisional only (a newborn registered before it was named). */
export function hasProvisionalNameOnly(p: Patient): boolean {
  const current = (p.name ?? []).filter(isCurrent);
  return current.length > 0 && current.every(isProvisional);
}

/**
 * Reads a submitted Patient ($register) as a raw record, with FHIRPath for every issue. `today`
 * (Japan's day) bounds the birth date.
 */
export function recordFromPatient(
  p: Patient,
  recordKey: string | undefined,
  rules: IdentifierRules,
  today = japanDay(new Date()),
): RecordResult {
  const issues: RecordIssue[] = [];
  const ids = (p.identifier ?? []).map((id, i) => ({ id, i }));
  const one = (system: string, label: string): { value: string | undefined; path: string; period?: Identifier['period'] } => {
    const found = ids.filter(({ id }) => id.system === system);
    if (found.length > 1)
      issues.push({
        expression: `Patient.identifier[${found[1]?.i ?? 0}]`,
        rule: 'record.one-identifier',
        text: `a registration carries one ${label}`,
      });
    const f = found[0];
    return { value: f?.id.value, path: `Patient.identifier[${f?.i ?? 0}].value`, period: f?.id.period };
  };
  const insured = one(ID_SYSTEMS.insuredMemberId, 'insured member id');
  const payer = one(ID_SYSTEMS.publicPayerMemberId, 'public payer member id');
  const mn = one(ID_SYSTEMS.myNumber, 'My Number');
  // A real name wins over a provisional one left beside it; provisional names count only alone.
  const current = (p.name ?? []).map((n, i) => ({ n, i })).filter(({ n }) => isCurrent(n));
  const real = current.filter(({ n }) => !isProvisional(n));
  const provisional = real.length === 0 && current.length > 0;
  const names = provisional ? current : real;
  const kana = names.find(({ n }) => representationOf(n) === 'SYL');
  const kanji = names.find(({ n }) => representationOf(n) === 'IDE') ?? names.find(({ n }) => representationOf(n) === undefined);
  const phone = (p.telecom ?? []).find((t) => t.system === 'phone');
  const addr = p.address?.[0];
  const period = insured.period ?? payer.period;
  const paths: FieldPaths = {
    insuredMemberId: insured.path,
    publicPayerMemberId: payer.path,
    myNumber: mn.path,
    familyKana: kana ? `Patient.name[${kana.i}].family` : 'Patient.name',
    givenKana: kana ? `Patient.name[${kana.i}].given[0]` : 'Patient.name',
    provisional: kana ? `Patient.name[${kana.i}].use` : 'Patient.name',
    birthOrder: 'Patient.multipleBirthInteger',
    birthDate: 'Patient.birthDate',
    gender: 'Patient.gender',
    postalCode: 'Patient.address[0].postalCode',
    phone: `Patient.telecom[${Math.max(0, (p.telecom ?? []).indexOf(phone as never))}].value`,
    validFrom: 'Patient.identifier.period.start',
    validTo: 'Patient.identifier.period.end',
  };
  const r = normalizeRecord(
    {
      record: recordKey,
      insuredMemberId: insured.value,
      publicPayerMemberId: payer.value,
      myNumber: mn.value,
      familyKanji: kanji?.n.family,
      givenKanji: kanji?.n.given?.join(''),
      familyKana: kana?.n.family,
      givenKana: kana?.n.given?.join(''),
      provisional,
      birthOrder: p.multipleBirthInteger,
      birthDate: p.birthDate,
      gender: p.gender,
      postalCode: addr?.postalCode,
      address: addr?.text ?? ([addr?.state, addr?.city, ...(addr?.line ?? [])].filter(Boolean).join('') || undefined),
      phone: phone?.value,
      validFrom: period?.start?.slice(0, 10),
      validTo: period?.end?.slice(0, 10),
    },
    paths,
    rules,
    today,
  );
  if (issues.length === 0) return r;
  return { ok: false, record: recordKey, issues: [...issues, ...(r.ok ? [] : r.issues)] };
}

/** The record as a Patient for transport (`medid import` over the API): the inverse of recordFromPatient. */
export function patientFromRecord(r: RegistrationRecord): Patient {
  const period =
    r.validFrom || r.validTo ? { ...(r.validFrom ? { start: r.validFrom } : {}), ...(r.validTo ? { end: r.validTo } : {}) } : undefined;
  const identifier: Identifier[] = [];
  if (r.insuredMemberId)
    identifier.push({ system: ID_SYSTEMS.insuredMemberId, value: r.insuredMemberId.value, ...(period ? { period } : {}) });
  if (r.publicPayerMemberId)
    identifier.push({ system: ID_SYSTEMS.publicPayerMemberId, value: r.publicPayerMemberId.value, ...(period ? { period } : {}) });
  if (r.myNumber) identifier.push({ system: ID_SYSTEMS.myNumber, value: r.myNumber });
  return { resourceType: 'Patient', ...(identifier.length ? { identifier } : {}), ...demographics(r) };
}

/**
 * The text of a provisional name: 「山田の子」, 「ヤマダノコ」 ("Yamada's child"), with the birth order
 * of a multiple birth, 「山田の子（2）」. Display only: matching reads the family name.
 */
export function provisionalText(family: string, rep: 'IDE' | 'SYL', birthOrder: number | undefined): string {
  return `${family}${rep === 'SYL' ? 'ノコ' : 'の子'}${birthOrder === undefined ? '' : `（${birthOrder}）`}`;
}

function personName(
  r: Pick<RegistrationRecord, 'provisional' | 'birthOrder'>,
  family: string | undefined,
  given: string | undefined,
  rep: 'IDE' | 'SYL',
): HumanName | undefined {
  if (!family) return undefined;
  if (r.provisional)
    return {
      extension: [{ url: NAME_REPRESENTATION, valueCode: rep }],
      use: 'temp',
      text: provisionalText(family, rep, r.birthOrder),
      family,
    };
  return {
    extension: [{ url: NAME_REPRESENTATION, valueCode: rep }],
    use: 'official',
    text: given ? `${family} ${given}` : family,
    family,
    ...(given ? { given: [given] } : {}),
  };
}

/** Names, birth date, sex, birth order, address and phone of a record, as Patient elements. */
function demographics(
  r: RegistrationRecord,
): Pick<Patient, 'name' | 'gender' | 'birthDate' | 'multipleBirthInteger' | 'telecom' | 'address'> {
  const name = [personName(r, r.familyKanji, r.givenKanji, 'IDE'), personName(r, r.familyKana, r.givenKana, 'SYL')].filter(
    (n): n is HumanName => n !== undefined,
  );
  return {
    name,
    gender: r.gender,
    birthDate: r.birthDate,
    ...(r.birthOrder !== undefined ? { multipleBirthInteger: r.birthOrder } : {}),
    ...(r.phone ? { telecom: [{ system: 'phone', value: r.phone, use: 'home' }] } : {}),
    ...(r.address || r.postalCode
      ? {
          address: [
            {
              use: 'home',
              ...(r.address ? { text: r.address } : {}),
              ...(r.postalCode ? { postalCode: r.postalCode } : {}),
              country: 'JP',
            },
          ],
        }
      : {}),
  };
}

const sameName = (a: HumanName, b: HumanName): boolean =>
  a.family === b.family && (a.given ?? []).join(' ') === (b.given ?? []).join(' ') && representationOf(a) === representationOf(b);

/**
 * The Patient after registering `r` for it: the record's demographics become current, a name
 * that changed is kept as `use: old` (marriage: the old family name still finds the person),
 * and the submitted number is added or its period updated. Identifiers the record does not
 * mention are kept as they are.
 *
 * A newborn's provisional name gives way to the real name and is not kept (it was never the
 * person's name: as `old` it would count as a former family name in $match); a provisional
 * record never replaces a real name (an insurer's file from before the naming, sent again).
 * A sex of `unknown` says nothing: a known sex stays.
 */
export function applyRecord(current: Patient, r: RegistrationRecord, today: string): Patient {
  const next = demographics(r);
  const currentNames = (current.name ?? []).filter(isCurrent);
  if (r.provisional && currentNames.some((n) => !isProvisional(n))) next.name = currentNames;
  if (r.gender === 'unknown' && current.gender !== undefined) next.gender = current.gender;
  const oldNames = (current.name ?? []).filter((n) => !isCurrent(n));
  for (const n of currentNames) {
    if (isProvisional(n)) continue;
    if (!(next.name ?? []).some((m) => sameName(m, n))) oldNames.push({ ...n, use: 'old', period: { ...n.period, end: today } });
  }
  const out: Patient = { ...withIdentifiers(current, r), ...next, name: [...(next.name ?? []), ...oldNames] };
  if (!next.telecom) delete out.telecom;
  if (!next.address) delete out.address;
  return out;
}

/**
 * The Patient with the record's numbers (added, or their periods updated) and nothing else of
 * it: a held record bound to a person whose own facts the reviewer kept (Task/$resolve with
 * apply = identifiers).
 */
export function withIdentifiers(current: Patient, r: RegistrationRecord): Patient {
  const identifier = [...(current.identifier ?? [])];
  const period =
    r.validFrom || r.validTo ? { ...(r.validFrom ? { start: r.validFrom } : {}), ...(r.validTo ? { end: r.validTo } : {}) } : undefined;
  for (const [system, value] of [
    [ID_SYSTEMS.insuredMemberId, r.insuredMemberId?.value],
    [ID_SYSTEMS.publicPayerMemberId, r.publicPayerMemberId?.value],
  ] as const) {
    if (!value) continue;
    const i = identifier.findIndex((x) => x.system === system && x.value === value);
    const merged: Identifier = {
      system,
      value,
      ...((period ?? identifier[i]?.period) ? { period: { ...identifier[i]?.period, ...period } } : {}),
    };
    if (i >= 0) identifier[i] = merged;
    else identifier.push(merged);
  }
  return { ...current, identifier };
}

/** A new person's Patient: the record's data and its first medical ID. */
export function newPatient(id: string, r: RegistrationRecord, medicalId: { system: string; value: string; start: string }): Patient {
  const base: Patient = {
    resourceType: 'Patient',
    id,
    meta: { profile: [PROFILES.medidPatient] },
    active: true,
    identifier: [{ use: 'official', system: medicalId.system, value: medicalId.value, period: { start: medicalId.start } }],
  };
  return applyRecord(base, r, medicalId.start);
}

/** The demographic key of the exact rule: kana family+given, birth date, sex (stored as registry.person.demo_key). */
export function demographicKey(r: Pick<RegistrationRecord, 'familyKana' | 'givenKana' | 'birthDate' | 'gender'>): string {
  return `${r.familyKana}${r.givenKana ?? ''}|${r.birthDate}|${r.gender}`;
}

/**
 * The key of the family name alone: kana family, birth date, sex. A provisional name (no given
 * name) is filed under it — its demographic key is this key — so a named record of the same
 * family, birth date and sex also looks here: the newborn it may be, registered before it was
 * named by another insurer. Undefined when it is the demographic key already.
 */
export function familyKeyOf(r: Pick<RegistrationRecord, 'familyKana' | 'givenKana' | 'birthDate' | 'gender'>): string | undefined {
  return r.givenKana === undefined ? undefined : `${r.familyKana}|${r.birthDate}|${r.gender}`;
}
