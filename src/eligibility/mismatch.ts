/**
 * Point-of-care confirmation (R5): the provider's medical ID or kana name for the person on the
 * card disagrees with the registry. The response says so; a Task (code `registry-mismatch`)
 * asks the card's payer (the insurer, or the public payer of a 公費 card) to check its record,
 * and a Communication tells the person (the patient portal shows it). One open Task per person,
 * payer and disagreement; a registration that corrects the person's record closes the person's
 * open mismatch Tasks (`closeFor`, subscribed to the registry's "person corrected"
 * announcement in app.ts).
 */
import type { Communication, Patient, Task } from '@medplum/fhirtypes';
import { ID_SYSTEMS, SYSTEMS } from '../core/systems.ts';
import { kanaKey } from '../jp/kana.ts';
import { namesOf } from '../jp/names.ts';
import type { UnitOfWork } from '../repo/unit-of-work.ts';

/** The kana reading of a Patient's current name, as compared (kana keys: width, script, long vowels folded). */
function kanaKeysOf(p: Patient): { family: string | undefined; given: string | undefined } {
  const kana = namesOf(p).kana;
  return {
    family: kana?.family ? kanaKey(kana.family) || undefined : undefined,
    given: kana?.given ? kanaKey(kana.given) || undefined : undefined,
  };
}

export class MismatchDesk {
  private readonly medicalIdSystem: string;

  constructor(medicalIdSystem: string) {
    this.medicalIdSystem = medicalIdSystem;
  }

  /** What disagrees between the provider's view and the registry (no values: these reach the response). */
  disagreements(registered: Patient, given: Patient): string[] {
    const out: string[] = [];
    const mids = new Set((registered.identifier ?? []).filter((i) => i.system === this.medicalIdSystem).map((i) => i.value));
    const givenMid = given.identifier?.find((i) => i.system === this.medicalIdSystem)?.value;
    if (givenMid !== undefined && !mids.has(givenMid)) out.push('medical ID');
    const r = kanaKeysOf(registered);
    const g = kanaKeysOf(given);
    if ((g.family && r.family && g.family !== r.family) || (g.given && r.given && g.given !== r.given)) out.push('kana name');
    return out;
  }

  /**
   * Records a mismatch (Task + Communication, once per person, payer and disagreement); returns
   * notes for the response. The payer is the card's: an insurer (保険者番号) or a public payer
   * (公費負担者番号, a welfare office for 生活保護), who owns the Task either way.
   */
  async check(
    uow: UnitOfWork,
    patientId: string,
    given: Patient,
    payer: { system: string; value: string },
    provider: string | undefined,
    now: string,
  ): Promise<string[]> {
    const registered = JSON.parse((await uow.resources.read('Patient', patientId)).content as string) as Patient;
    const what = this.disagreements(registered, given);
    if (what.length === 0) return [];
    const key = `${patientId}|${payer.value}|${what.join(',')}`;
    const open = (await uow.resources.byIdentifier('Task', ID_SYSTEMS.registryMismatch, [key]))
      .map((r) => JSON.parse(r.content) as Task)
      .filter((t) => t.status === 'requested');
    const publicPayer = payer.system === ID_SYSTEMS.publicPayerNumber;
    const who = publicPayer ? { en: 'the public payer', ja: '公費負担者（福祉事務所など）' } : { en: 'the insurer', ja: '保険者' };
    const note = `the ${what.join(' and ')} given differ${what.length > 1 ? '' : 's'} from the registry: ${who.en} has been asked to check`;
    if (open.length > 0) return [note];
    await uow.resources.transaction(async (repo) => {
      const task: Task = {
        resourceType: 'Task',
        status: 'requested',
        intent: 'order',
        priority: 'routine',
        identifier: [{ system: ID_SYSTEMS.registryMismatch, value: key }],
        code: {
          coding: [
            { system: SYSTEMS.registryTask, code: 'registry-mismatch', display: 'Registry record disagrees with the point of care' },
          ],
        },
        description: `At an eligibility confirmation the ${what.join(' and ')} given for this person disagreed with the registry. Check the person's record and correct it if needed; a corrected registration closes this task.`,
        for: { reference: `Patient/${patientId}` },
        authoredOn: now,
        owner: { identifier: { system: payer.system, value: payer.value } },
        ...(provider ? { requester: { identifier: { system: ID_SYSTEMS.medicalInstitutionCode, value: provider } } } : {}),
      };
      const { stored } = await repo.create('Task', task);
      const message: Communication = {
        resourceType: 'Communication',
        status: 'completed',
        subject: { reference: `Patient/${patientId}` },
        recipient: [{ reference: `Patient/${patientId}` }],
        about: [{ reference: `Task/${stored.id}` }],
        sent: now,
        payload: [
          {
            contentString: `医療機関での資格確認の際、あなたの${what.map((w) => (w === 'medical ID' ? '医療等ID' : 'カナ氏名')).join('と')}が登録内容と一致しませんでした。${who.ja}に確認を依頼しました。 At a confirmation of your insurance, your ${what.join(' and ')} did not match the registry; ${publicPayer ? 'the public payer' : 'your insurer'} has been asked to check.`,
          },
        ],
      };
      await repo.create('Communication', message);
    });
    return [note];
  }

  /** Closes the person's open mismatch Tasks: their registration was corrected (inside that registration's transaction). */
  async closeFor(tx: UnitOfWork, patientId: string, at: string): Promise<number> {
    const tasks = (await tx.resources.referring('Task', 'subject', 'Patient', [patientId]))
      .map((r) => JSON.parse(r.content) as Task)
      .filter((t) => t.status === 'requested' && t.code?.coding?.some((c) => c.code === 'registry-mismatch'));
    for (const t of tasks) {
      await tx.resources.update('Task', t.id as string, {
        ...t,
        status: 'completed',
        lastModified: at,
        output: [{ type: { text: 'resolution' }, valueString: 'The registration was corrected' }],
      });
    }
    return tasks.length;
  }
}
