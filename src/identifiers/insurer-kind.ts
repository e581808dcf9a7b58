/**
 * The kind of insurer or public payer behind a number, from its 法別番号 (the first two digits of
 * an 8-digit 保険者番号 / 公費負担者番号; a 6-digit 国保 number, stored left-padded, has 00).
 * Coarse on purpose: it is what a utilizing database sees instead of the insurer (an insurer
 * number names a company or a town), and one of the small-cell guard's quasi-identifiers.
 */
import { ID_SYSTEMS } from '../core/systems.ts';

export type InsurerKind = 'kokuho' | 'kyokai' | 'kumiai' | 'kyosai' | 'koki' | 'other-insurance' | 'public-assistance' | 'public';

export const INSURER_KINDS: Readonly<Record<InsurerKind, string>> = {
  kokuho: '国民健康保険',
  kyokai: '全国健康保険協会（協会けんぽ）',
  kumiai: '組合管掌健康保険',
  kyosai: '共済組合',
  koki: '後期高齢者医療',
  'other-insurance': 'その他の被用者保険（船員保険・日雇特例・自衛官等）',
  'public-assistance': '生活保護（医療扶助）',
  public: '公費負担医療（生活保護を除く）',
};

/** The kind of the payer (canonical 8 digits) behind an insured or public-payer member id system. */
export function insurerKindOf(system: string, payer: string): InsurerKind {
  const houbetsu = payer.padStart(8, '0').slice(0, 2);
  if (system === ID_SYSTEMS.publicPayerMemberId) return houbetsu === '12' ? 'public-assistance' : 'public';
  switch (houbetsu) {
    case '00':
      return 'kokuho';
    case '01':
      return 'kyokai';
    case '06':
      return 'kumiai';
    case '31':
    case '32':
    case '33':
    case '34':
      return 'kyosai';
    case '39':
      return 'koki';
    default:
      return 'other-insurance';
  }
}
