/** 性別 as registration files write it: English words, JIS X 0303 codes (1 male, 2 female, 9 not applicable), 男 / 女. */
import { nfkc } from './characters.ts';

export type Sex = 'male' | 'female' | 'other' | 'unknown';

const SEXES: Record<string, Sex> = {
  male: 'male',
  m: 'male',
  '1': 'male',
  男: 'male',
  男性: 'male',
  female: 'female',
  f: 'female',
  '2': 'female',
  女: 'female',
  女性: 'female',
  other: 'other',
  '3': 'other',
  unknown: 'unknown',
  '9': 'unknown',
  '0': 'unknown',
};

/** The FHIR administrative gender a written sex stands for; undefined when it is none of the forms. */
export function readSex(raw: string): Sex | undefined {
  return SEXES[nfkc(raw).trim().toLowerCase()];
}
