/** Settings the server refuses to start with, and the $match defaults chosen by the evaluation. */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';

describe('$match thresholds', () => {
  it('default to 70 / 21 / 8 bits', () => {
    expect(loadConfig({}).matchThresholds).toEqual({ certain: 70, probable: 21, possible: 8 });
  });
  it('must be in order: a held family member is cut to the foot of possible, below probable', () => {
    expect(() => loadConfig({ MEDID_MATCH_POSSIBLE: '30' })).toThrow(ConfigError);
    expect(() => loadConfig({ MEDID_MATCH_PROBABLE: '80' })).toThrow(ConfigError);
    expect(loadConfig({ MEDID_MATCH_PROBABLE: '70' }).matchThresholds.probable).toBe(70);
  });
});

describe('MEDID_REGISTRY_REVIEW_BITS', () => {
  it('follows the probable threshold unless set, and must be above possible (held candidates sit at its foot)', () => {
    expect(loadConfig({}).registryReviewBits).toBe(21);
    expect(loadConfig({ MEDID_MATCH_PROBABLE: '25' }).registryReviewBits).toBe(25);
    expect(loadConfig({ MEDID_REGISTRY_REVIEW_BITS: '15' }).registryReviewBits).toBe(15);
    expect(() => loadConfig({ MEDID_REGISTRY_REVIEW_BITS: '8' })).toThrow(ConfigError);
  });
});

describe('MEDID_ANALYZE_SECONDS', () => {
  it('defaults to 30 and accepts 0 (never)', () => {
    expect(loadConfig({}).analyzeSeconds).toBe(30);
    expect(loadConfig({ MEDID_ANALYZE_SECONDS: '0' }).analyzeSeconds).toBe(0);
  });
});

describe('MEDID_BREAK_LINKAGE_LINK', () => {
  it('defaults to none; sealed needs MEDID_OVERSIGHT_KEY_FILE; nothing else is accepted', () => {
    expect(loadConfig({}).breakLinkageLink).toBe('none');
    expect(() => loadConfig({ MEDID_BREAK_LINKAGE_LINK: 'sealed' })).toThrow(ConfigError);
    expect(() => loadConfig({ MEDID_BREAK_LINKAGE_LINK: 'clear' })).toThrow(/none or sealed/);
    expect(loadConfig({ MEDID_BREAK_LINKAGE_LINK: 'sealed', MEDID_OVERSIGHT_KEY_FILE: '/k.json' })).toMatchObject({
      breakLinkageLink: 'sealed',
      oversightKeyFile: '/k.json',
    });
  });
});

describe('the access log’s tree heads', () => {
  it('are signed every 5 s and every 10,000 entries by default, with a key generated into the data directory', () => {
    expect(loadConfig({})).toMatchObject({ logHeadSeconds: 5, logHeadEntries: 10_000, logKeyFile: undefined });
    expect(loadConfig({ MEDID_LOG_HEAD_SECONDS: '1', MEDID_LOG_HEAD_ENTRIES: '500', MEDID_LOG_KEY_FILE: '/k' })).toMatchObject({
      logHeadSeconds: 1,
      logHeadEntries: 500,
      logKeyFile: '/k',
    });
  });
  it('refuses an interval of 0 or no whole number of entries', () => {
    expect(() => loadConfig({ MEDID_LOG_HEAD_SECONDS: '0' })).toThrow(/MEDID_LOG_HEAD_SECONDS/);
    expect(() => loadConfig({ MEDID_LOG_HEAD_ENTRIES: '1.5' })).toThrow(ConfigError);
  });
});
