/**
 * 証区分 (card class): which kind of card a coverage is confirmed by. The eligibility answer
 * says it for every coverage it names, because the class changes what the desk does: a
 * 資格証明書 holder pays the whole fee and claims it back (特別療養費), a short-term card is
 * checked against its short period, a 医療券 is the welfare office's for one month and one
 * institution.
 *
 * The insurer states it on the Coverage as `class` with type `coverage-class-type#card-class`
 * and the code as value: R4's CoverageClassCodes (an extensible binding) has no concept for the
 * kind of card, and JP Core leaves `Coverage.type` to the 保険種別 (医保, 国保, 公費…), a
 * different axis. Codes 01–07 are the online eligibility system's InsuredCardClassification
 * (unverified: taken from a client library that mirrors the MHLW interface specification);
 * the others are medid's own, for cards that code list does not name.
 *
 * A Coverage that does not state its class is the ordinary card of its kind: 01 一般 for an
 * insured number, the 医療券 for 生活保護 (法別 12), the 受給者証 for other public payers —
 * those are what the number itself is issued on, not a guess about the person.
 */
import type { Coverage } from '@medplum/fhirtypes';
import { ID_SYSTEMS, SYSTEMS } from '../core/systems.ts';

export const CARD_CLASSES = {
  '01': '被保険者証（一般）',
  '02': '被保険者証（退職）',
  '03': '短期被保険者証（一般）',
  '04': '短期被保険者証（退職）',
  '05': '被保険者資格証明書',
  '06': '特例退職被保険者証',
  '07': '自衛官診療証',
  'confirmation-certificate': '資格確認書',
  'public-recipient': '公費負担医療受給者証',
  'medical-aid': '医療券・調剤券（生活保護）',
} as const;

export type CardClass = keyof typeof CARD_CLASSES;

/** The Coverage.class.type code under which a Coverage states its card class. */
export const CARD_CLASS_TYPE = 'card-class';

export function isCardClass(code: string): code is CardClass {
  return Object.hasOwn(CARD_CLASSES, code);
}

/** The card class a Coverage states, if any (a code medid does not know is not a class). */
export function statedCardClass(c: Coverage): CardClass | undefined {
  const stated = c.class?.find((k) => k.type.coding?.some((x) => x.system === SYSTEMS.coverageClassType && x.code === CARD_CLASS_TYPE));
  return stated && isCardClass(stated.value) ? stated.value : undefined;
}

/**
 * The class of card a coverage is: as stated, else the ordinary card of the number's kind.
 * `memberSystem` is the system of the number the coverage was found by (insured or public-payer
 * member id); `payer` its 8-digit payer (保険者番号 or 公費負担者番号).
 */
export function cardClassOf(c: Coverage, memberSystem: string, payer: string): CardClass {
  const stated = statedCardClass(c);
  if (stated) return stated;
  if (memberSystem !== ID_SYSTEMS.publicPayerMemberId) return '01';
  return payer.startsWith('12') ? 'medical-aid' : 'public-recipient';
}

/** The Coding an answer carries. */
export function cardClassCoding(code: CardClass): { system: string; code: string; display: string } {
  return { system: SYSTEMS.cardClass, code, display: CARD_CLASSES[code] };
}
