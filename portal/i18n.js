/**
 * The portal's words, Japanese first and English, and how dates are written. The chosen language
 * is remembered in localStorage; `<html lang>` follows it.
 */

/** @typedef {'ja' | 'en'} Lang */

const STORAGE_KEY = 'medid.portal.lang';

/** @type {Record<Lang, Record<string, string>>} */
const TEXT = {
  ja: {
    title: 'medid 本人ポータル',
    tagline: '医療等IDに関するあなたの記録',
    skip: '本文へ移動',
    'lang.switch': 'English',
    'lang.switchLabel': 'Switch to English',
    'nav.label': 'ページ内の項目',
    'signin.heading': 'ログイン',
    'signin.intro':
      'だれがいつあなたの記録を見たか、受診と保険の記録、同意、お知らせを確認できます。本人確認のため、本人確認サービスに移動します。',
    'signin.button': 'ログインする',
    'signin.redirecting': '本人確認サービスに移動しています…',
    'signin.exchanging': 'ログインしています…',
    'signin.failed': 'ログインできませんでした: {reason}',
    'signin.stateMismatch': 'ログインの手続きを確認できませんでした。もう一度ログインしてください。',
    'signin.issuerMismatch': 'ログインの応答が medid からのものではありません。もう一度ログインしてください。',
    'signin.noCrypto': 'このブラウザーでは安全にログインできません（Web Crypto がありません）。',
    'signin.expired': 'ログインの有効期限が切れました。もう一度ログインしてください。',
    'signin.done': 'ログインしました。',
    'signout.button': 'ログアウト',
    'signout.done': 'ログアウトしました。',
    'signedin.as': '{name} さん',
    'signedin.anonymous': 'ログイン中',
    noscript: 'このポータルを使うには JavaScript を有効にしてください。',
    loading: '読み込み中…',
    'loaded.count': '{n} 件を表示しています。',
    'loaded.more': '{n} 件を表示しています（続きがあります）。',
    none: '記録はありません。',
    'error.load': '読み込めませんでした: {reason}',
    'error.network': 'サーバーと通信できませんでした',
    'error.http': 'サーバーの応答 {status}',
    more: 'さらに表示',
    reload: '再読み込み',
    yes: 'はい',
    no: 'いいえ',
    unknown: '不明',

    'access.heading': '私の記録を見た人',
    'access.intro':
      '医療機関・保険者などがあなたの記録を参照・更新した記録です。新しい順に表示します。各記録は改ざんできない台帳（透明性ログ）に載っており、このブラウザーがその証明を検証します。',
    'access.hideSelf': '自分自身によるアクセスを表示しない',
    'access.listLabel': 'アクセスの記録',
    'access.time': '日時',
    'access.app': '使われたアプリ',
    'access.purpose': '目的',
    'access.action': '内容',
    'access.outcome': '結果',
    'access.provider': '情報の提供元',
    'access.self': 'あなた自身（本人ポータル）',
    'access.btg': '緊急アクセス',
    'access.btgNote': '緊急時の特別な手続き（break-the-glass）によるアクセスです。',
    'access.unknownOrg': '組織の記載なし',
    'access.entryLabel': '{time} {org}',

    'log.checking': '台帳の署名を確認しています…',
    'log.ok': '台帳（{size} 件、{time} 署名）の署名を確認しました。',
    'log.consistent': '前回このブラウザーで確認した台帳（{old} 件）を書き換えずに続いていることも確認しました。',
    'log.first': 'このブラウザーで台帳を確認するのは初めてです。次回以降、台帳が書き換えられていないことも確認します。',
    'log.keyChanged': '注意: 台帳の署名鍵が、前回このブラウザーで確認したものと異なります。',
    'log.inconsistent': '✗ 台帳が、前回このブラウザーで確認したもの（{old} 件）と矛盾します。運営機関に連絡してください。',
    'log.shrunk': '注意: 台帳が前回このブラウザーで確認したもの（{old} 件）より小さくなっています。',
    'log.fail': '✗ 台帳の署名を確認できません: {reason}',
    'log.summary': '検証済み {ok} 件、検証できなかったもの {fail} 件、まだ検証できないもの {pending} 件。',

    'chain.loadAll': 'すべて読み込んで連鎖を確認する',
    'chain.incomplete': '続きの記録があります。すべて読み込むと、記録に欠けや書き換えがないこと（連鎖）を確認できます。',
    'chain.checking': '記録の連鎖を確認しています…',
    'chain.ok': '✓ 連鎖を確認しました：1〜{last} 番に欠けも書き換えもありません。',
    'chain.pending': '新しい {n} 件は台帳の署名を待っているため、まだ確認できません。',
    'chain.failed': '検証できなかった {n} 件は、連鎖の確認に含めていません。',
    'chain.waiting': '… 連鎖はまだ確認しきれません：{checked} 番までは欠けも書き換えもありません。{n} 件が台帳の署名を待っています。',
    'chain.waitingNone': '… 連鎖はまだ確認できません：{n} 件が台帳の署名を待っています。',
    'chain.empty': '連鎖を確認できる記録がありません。',
    'chain.unavailable': '✗ 台帳を確認できないため、連鎖を確認できません。',
    'chain.gap': '✗ 連鎖に欠けがあります：{after} 番の次の {missing}が見つかりません。運営機関に連絡してください。',
    'chain.gapFirst': '✗ 連鎖に欠けがあります：最初の {missing}が見つかりません。運営機関に連絡してください。',
    'chain.missingOne': '{n} 番',
    'chain.missingRange': '{from}〜{to} 番',
    'chain.prev': '✗ 連鎖が書き換えられています：{seq} 番の記録が、直前の {prev} 番の記録とつながりません。運営機関に連絡してください。',
    'chain.prevFirst': '✗ 連鎖が書き換えられています：1 番の記録が連鎖の始まりになっていません。運営機関に連絡してください。',
    'chain.order': '✗ 連鎖の {seq} 番が重複しています。運営機関に連絡してください。',
    'chain.person': '✗ {seq} 番の記録は、別の人の連鎖のものです。運営機関に連絡してください。',
    'chain.shape': '✗ 連鎖の番号が正しくない記録があります。運営機関に連絡してください。',

    'proof.checking': '検証中…',
    'proof.ok': '✓ 検証済み',
    'proof.fail': '✗ 検証できません',
    'proof.pending': '… まだ検証できません',
    'proof.unavailable': '— 検証の対象外',
    'proof.retry': 'もう一度検証する',
    'proof.retryLabel': '{time} の記録をもう一度検証する',
    'proof.details': '検証の詳細',
    'proof.index': '台帳での位置',
    'proof.size': '台帳の件数',
    'proof.signedAt': '台帳の署名日時',
    'proof.key': '署名鍵',
    'proof.seq': 'あなたの連鎖での番号',
    'proof.reason.signature': '台帳の署名が正しくありません',
    'proof.reason.inclusion': 'この記録が台帳に含まれていることを確認できません',
    'proof.reason.leaf': '記録の内容が台帳のハッシュと一致しません',
    'proof.reason.entry': '台帳の記録の形式が正しくありません',
    'proof.reason.mismatch': '台帳の記録と表示している記録が一致しません（{field}）',
    'proof.reason.head': '台帳の署名済みの状態を取得できません',
    'proof.reason.pending': '台帳への記載を待っています。しばらくしてからもう一度検証してください',
    'proof.reason.server': 'サーバーの応答',
    'proof.reason.network': 'サーバーと通信できませんでした',
    'proof.reason.verifier': '検証プログラムを読み込めませんでした',

    'services.heading': '受診の記録',
    'services.intro': 'あなたが資格確認を受けた医療機関（受診先）です。',
    'services.org': '医療機関',
    'services.period': '期間',
    'services.visits': '資格確認の回数',
    'services.status': '状態',

    'coverage.heading': '保険の記録',
    'coverage.intro': 'あなたの医療保険の資格の記録です。',
    'coverage.payor': '保険者',
    'coverage.card': '記号・番号・枝番',
    'coverage.memberId': '被保険者の識別子',
    'coverage.period': '資格の期間',
    'coverage.status': '状態',
    'coverage.loss': '資格喪失の理由',
    'coverage.type': '種別',

    'consents.heading': '同意',
    'consents.intro':
      'あなたの記録をどの組織に見せるかを決められます。拒否はその組織への提供を止め、許可はその組織に提供します。取り消した同意は記録として残ります。',
    'consents.listHeading': '登録している同意',
    'consent.permit': '許可',
    'consent.deny': '拒否',
    'consent.everyone': 'medid 全体（すべての組織）',
    'consent.unresolved': '指定なし',
    'consent.status': '状態',
    'consent.effect': '内容',
    'consent.actor': '相手',
    'consent.date': '登録日時',
    'consent.period': '期間',
    'consent.purposes': '目的',
    'consent.withdraw': '取り消す',
    'consent.withdrawLabel': '{effect}: {actor} の同意を取り消す',
    'consent.withdrawing': '取り消しています…',
    'consent.withdrawn': '同意を取り消しました。',
    'consent.saving': '保存しています…',
    'consent.saved': '同意を登録しました。',
    'consent.refused': 'サーバーが受け付けませんでした: {reason}',
    'consent.optOutActive': '現在、medid 全体からオプトアウトしています。',
    'consent.add.heading': '組織ごとに許可・拒否する',
    'consent.add.effect': '選ぶ内容',
    'consent.add.deny': 'この組織に記録を見せない（拒否）',
    'consent.add.permit': 'この組織に記録を見せる（許可）',
    'consent.add.org': '組織',
    'consent.add.orgOther': 'その他（コードを入力する）',
    'consent.add.orgHint': 'アクセスの記録と受診の記録に出てくる組織から選べます。',
    'consent.add.kind': '組織の種類',
    'consent.add.code': '組織のコード',
    'consent.add.codeHint': '医療機関コードは10桁、保険者番号は6桁または8桁の数字です。',
    'consent.add.submit': '同意を登録する',
    'consent.add.badCode': '{kind}のコードの形式が正しくありません。',
    'consent.add.noOrg': '組織を選ぶか、コードを入力してください。',
    'network.heading': '地域医療連携ネットワークに参加する',
    'network.intro': '参加すると、そのネットワークがあなたの記録を参照できるようになります（許可の同意）。',
    'network.select': 'ネットワーク',
    'network.code': 'ネットワークのコード',
    'network.submit': 'このネットワークに参加する',
    'optout.heading': 'medid 全体の利用を止める（オプトアウト）',
    'optout.intro':
      'すべての組織への提供を拒否する同意です。運営機関と緊急時の特別な手続き（break-the-glass）を除き、医療機関・保険者・データベースはあなたの記録を参照できなくなります。',
    'optout.button': 'オプトアウトする…',
    'optout.confirmHeading': 'medid 全体からオプトアウトしますか？',
    'optout.consequences1': '医療機関・保険者・研究などのデータベースは、あなたの記録を参照できなくなります。',
    'optout.consequences2':
      '受診先での記録の所在の照会など、あなたの医療に役立つ仕組みが使えなくなることがあります。命にかかわる緊急時には、緊急アクセス（break-the-glass）で参照されることがあり、その場合はお知らせが届きます。',
    'optout.consequences3': 'あとでこの同意を取り消せば、元に戻ります。',
    'optout.confirm': 'オプトアウトする',
    'optout.cancel': 'やめる',

    'notices.heading': 'お知らせ',
    'notices.intro': 'medid からあなたへのお知らせです。',
    'notice.sent': '日時',
    'notice.sender': '送信元',
    'notice.btg': '緊急アクセス',
    'notice.message': '内容',

    footer: 'medid — 医療等IDの運営機関',
  },
  en: {
    title: 'medid personal portal',
    tagline: 'Your records about your medical ID',
    skip: 'Skip to main content',
    'lang.switch': '日本語',
    'lang.switchLabel': '日本語に切り替える',
    'nav.label': 'Sections',
    'signin.heading': 'Sign in',
    'signin.intro':
      'See who accessed your records and when, where you received care, your insurance, your consents and notices. You will be taken to the identity service to prove who you are.',
    'signin.button': 'Sign in',
    'signin.redirecting': 'Taking you to the identity service…',
    'signin.exchanging': 'Signing you in…',
    'signin.failed': 'Sign-in failed: {reason}',
    'signin.stateMismatch': 'The sign-in could not be matched to this page. Please sign in again.',
    'signin.issuerMismatch': 'The sign-in answer did not come from medid. Please sign in again.',
    'signin.noCrypto': 'This browser cannot sign in safely (no Web Crypto).',
    'signin.expired': 'Your sign-in has expired. Please sign in again.',
    'signin.done': 'You are signed in.',
    'signout.button': 'Sign out',
    'signout.done': 'You have signed out.',
    'signedin.as': '{name}',
    'signedin.anonymous': 'Signed in',
    noscript: 'Please enable JavaScript to use this portal.',
    loading: 'Loading…',
    'loaded.count': 'Showing {n}.',
    'loaded.more': 'Showing {n} (there are more).',
    none: 'Nothing recorded.',
    'error.load': 'Could not load: {reason}',
    'error.network': 'Could not reach the server',
    'error.http': 'Server answered {status}',
    more: 'Show more',
    reload: 'Reload',
    yes: 'Yes',
    no: 'No',
    unknown: 'Unknown',

    'access.heading': 'Who accessed my records',
    'access.intro':
      'Records of medical institutions, insurers and others reading or changing your records, newest first. Each one is in a tamper-evident ledger (a transparency log), and this browser checks its proof.',
    'access.hideSelf': 'Hide my own accesses',
    'access.listLabel': 'Accesses',
    'access.time': 'When',
    'access.app': 'Application',
    'access.purpose': 'Purpose',
    'access.action': 'What was done',
    'access.outcome': 'Outcome',
    'access.provider': 'Information from',
    'access.self': 'You (this portal)',
    'access.btg': 'Emergency access',
    'access.btgNote': 'This access used the emergency (break-the-glass) procedure.',
    'access.unknownOrg': 'No organization recorded',
    'access.entryLabel': '{time} {org}',

    'log.checking': 'Checking the ledger’s signature…',
    'log.ok': 'The ledger’s signature is valid ({size} entries, signed {time}).',
    'log.consistent': 'It also extends, unchanged, the ledger this browser saw last time ({old} entries).',
    'log.first': 'This browser checks the ledger for the first time; next time it will also check that nothing was rewritten.',
    'log.keyChanged': 'Warning: the ledger’s signing key differs from the one this browser saw last time.',
    'log.inconsistent': '✗ The ledger contradicts the one this browser saw last time ({old} entries). Please contact the authority.',
    'log.shrunk': 'Warning: the ledger is smaller than the one this browser saw last time ({old} entries).',
    'log.fail': '✗ The ledger’s signature could not be verified: {reason}',
    'log.summary': '{ok} verified, {fail} could not be verified, {pending} not verifiable yet.',

    'chain.loadAll': 'Load all and check the chain',
    'chain.incomplete': 'There are more records. Load them all to check that none is missing or rewritten (the chain).',
    'chain.checking': 'Checking the chain of your records…',
    'chain.ok': '✓ Chain checked: entries 1–{last}, no gap, no rewrite.',
    'chain.pending': 'The newest {n} cannot be checked yet: they are waiting for the ledger’s signature.',
    'chain.failed': 'The {n} that could not be verified are not part of this check.',
    'chain.waiting':
      '… The chain cannot be fully checked yet: entries 1–{checked} have no gap and no rewrite; {n} are waiting for the ledger’s signature.',
    'chain.waitingNone': '… The chain cannot be checked yet: {n} are waiting for the ledger’s signature.',
    'chain.empty': 'No record here can be checked as a chain.',
    'chain.unavailable': '✗ The chain cannot be checked: the ledger could not be verified.',
    'chain.gap': '✗ Gap in the chain after entry {after}: {missing} not found. Please contact the authority.',
    'chain.gapFirst': '✗ Gap in the chain at its start: {missing} not found. Please contact the authority.',
    'chain.missingOne': 'entry {n}',
    'chain.missingRange': 'entries {from}–{to}',
    'chain.prev':
      '✗ The chain was rewritten: entry {seq} does not link to entry {prev} (prev mismatch at entry {seq}). Please contact the authority.',
    'chain.prevFirst':
      '✗ The chain was rewritten: entry 1 does not start the chain (prev mismatch at entry 1). Please contact the authority.',
    'chain.order': '✗ The chain has entry {seq} twice. Please contact the authority.',
    'chain.person': '✗ Entry {seq} belongs to another person’s chain. Please contact the authority.',
    'chain.shape': '✗ A record has no valid number in the chain. Please contact the authority.',

    'proof.checking': 'Checking…',
    'proof.ok': '✓ Verified',
    'proof.fail': '✗ Not verified',
    'proof.pending': '… Not verifiable yet',
    'proof.unavailable': '— Not in the ledger',
    'proof.retry': 'Check again',
    'proof.retryLabel': 'Check again: the access of {time}',
    'proof.details': 'Proof details',
    'proof.index': 'Position in the ledger',
    'proof.size': 'Ledger size',
    'proof.signedAt': 'Ledger signed at',
    'proof.key': 'Signing key',
    'proof.seq': 'Number in your chain',
    'proof.reason.signature': 'the ledger’s signature is not valid',
    'proof.reason.inclusion': 'the proof does not show this record in the ledger',
    'proof.reason.leaf': 'the record does not match its hash in the ledger',
    'proof.reason.entry': 'the ledger entry is malformed',
    'proof.reason.mismatch': 'the ledger entry differs from the record shown ({field})',
    'proof.reason.head': 'the ledger’s signed state could not be read',
    'proof.reason.pending': 'the record is waiting for its place in the ledger; check again in a moment',
    'proof.reason.server': 'the server answered',
    'proof.reason.network': 'could not reach the server',
    'proof.reason.verifier': 'the verifier could not be loaded',

    'services.heading': 'Where I received care',
    'services.intro': 'Medical institutions that confirmed your insurance eligibility when you visited.',
    'services.org': 'Medical institution',
    'services.period': 'Period',
    'services.visits': 'Eligibility confirmations',
    'services.status': 'Status',

    'coverage.heading': 'Insurance history',
    'coverage.intro': 'Your health insurance records.',
    'coverage.payor': 'Insurer',
    'coverage.card': 'Symbol, number, branch',
    'coverage.memberId': 'Insured member id',
    'coverage.period': 'Period',
    'coverage.status': 'Status',
    'coverage.loss': 'Reason it ended',
    'coverage.type': 'Type',

    'consents.heading': 'Consents',
    'consents.intro':
      'Decide which organizations may see your records. A deny stops disclosure to that organization; a permit allows it. Withdrawn consents stay on record.',
    'consents.listHeading': 'Your consents',
    'consent.permit': 'Permit',
    'consent.deny': 'Deny',
    'consent.everyone': 'All of medid (every organization)',
    'consent.unresolved': 'None named',
    'consent.status': 'Status',
    'consent.effect': 'Decision',
    'consent.actor': 'Organization',
    'consent.date': 'Recorded',
    'consent.period': 'Period',
    'consent.purposes': 'Purposes',
    'consent.withdraw': 'Withdraw',
    'consent.withdrawLabel': 'Withdraw {effect}: {actor}',
    'consent.withdrawing': 'Withdrawing…',
    'consent.withdrawn': 'The consent was withdrawn.',
    'consent.saving': 'Saving…',
    'consent.saved': 'The consent was recorded.',
    'consent.refused': 'The server refused it: {reason}',
    'consent.optOutActive': 'You have opted out of medid.',
    'consent.add.heading': 'Permit or deny one organization',
    'consent.add.effect': 'Decision',
    'consent.add.deny': 'Do not let this organization see my records (deny)',
    'consent.add.permit': 'Let this organization see my records (permit)',
    'consent.add.org': 'Organization',
    'consent.add.orgOther': 'Other (enter a code)',
    'consent.add.orgHint': 'Choose from the organizations in your access and care records.',
    'consent.add.kind': 'Kind of organization',
    'consent.add.code': 'Organization code',
    'consent.add.codeHint': 'A medical institution code has 10 digits; an insurer number 6 or 8.',
    'consent.add.submit': 'Record the consent',
    'consent.add.badCode': 'That is not a valid code for a {kind}.',
    'consent.add.noOrg': 'Choose an organization or enter its code.',
    'network.heading': 'Join a regional health network',
    'network.intro': 'Joining lets that network see your records (a permit consent).',
    'network.select': 'Network',
    'network.code': 'Network code',
    'network.submit': 'Join this network',
    'optout.heading': 'Opt out of medid',
    'optout.intro':
      'A consent denying every organization. Except the authority and emergency (break-the-glass) access, no medical institution, insurer or database can see your records.',
    'optout.button': 'Opt out…',
    'optout.confirmHeading': 'Opt out of medid?',
    'optout.consequences1': 'Medical institutions, insurers and research databases will no longer see your records.',
    'optout.consequences2':
      'Services that help your care, such as finding where your records are when you visit a hospital, may stop working for you. In a life-threatening emergency your records may still be reached with emergency access (break-the-glass), and you will be notified.',
    'optout.consequences3': 'You can undo this later by withdrawing the consent.',
    'optout.confirm': 'Opt out',
    'optout.cancel': 'Cancel',

    'notices.heading': 'Notices',
    'notices.intro': 'Messages from medid to you.',
    'notice.sent': 'Sent',
    'notice.sender': 'From',
    'notice.btg': 'Emergency access',
    'notice.message': 'Message',

    footer: 'medid — the medical ID authority',
  },
};

/** v3-ActReason purposes of use (the codes medid accepts). */
const PURPOSES = {
  TREAT: ['診療', 'Treatment'],
  ETREAT: ['救急診療', 'Emergency treatment'],
  BTG: ['緊急アクセス（break-the-glass）', 'Emergency access (break-the-glass)'],
  CAREMGT: ['診療の調整', 'Care management'],
  HPAYMT: ['保険の支払い', 'Health care payment'],
  CLMATTCH: ['請求の添付書類', 'Claim attachment'],
  COVERAGE: ['保険の適用の確認', 'Coverage under a policy'],
  ELIGDTRM: ['資格の判定', 'Eligibility determination'],
  ELIGVER: ['資格確認', 'Eligibility verification'],
  HOPERAT: ['医療機関・保険者の運営', 'Health care operations'],
  HSYSADMIN: ['システムの管理', 'System administration'],
  PUBHLTH: ['公衆衛生', 'Public health'],
  HRESCH: ['研究', 'Health research'],
  CLINTRCH: ['臨床研究', 'Clinical trial research'],
  HLEGAL: ['法的な手続き', 'Legal'],
  PATRQT: ['本人の求め', 'Your own request'],
  FAMRQT: ['家族の求め', 'Family request'],
  PWATRNY: ['代理人の求め', 'Power of attorney'],
};

/** What was done: restful-interaction codes, DICOM login, and operations by name. */
const ACTIONS = {
  read: ['閲覧', 'Read'],
  vread: ['閲覧（過去の版）', 'Read (a past version)'],
  'search-type': ['検索', 'Search'],
  'search-system': ['検索', 'Search'],
  'search-compartment': ['検索', 'Search'],
  'history-instance': ['履歴の閲覧', 'History read'],
  'history-type': ['履歴の閲覧', 'History read'],
  'history-system': ['履歴の閲覧', 'History read'],
  create: ['作成', 'Create'],
  update: ['更新', 'Update'],
  patch: ['一部更新', 'Partial update'],
  delete: ['削除', 'Delete'],
  110122: ['ログイン', 'Sign-in'],
  $submit: ['資格確認', 'Eligibility confirmation'],
  $match: ['本人の照合', 'Person matching'],
  '$ihe-pix': ['識別子の照会', 'Identifier cross-reference'],
  '$record-locations': ['記録の所在の照会', 'Record location'],
  '$break-the-glass': ['緊急アクセスの開始', 'Emergency access started'],
  $register: ['登録', 'Registration'],
  $merge: ['記録の統合', 'Records merged'],
  $unmerge: ['記録の統合の取り消し', 'Merge undone'],
  '$change-medical-id': ['医療等IDの変更', 'Medical ID changed'],
  '$record-death': ['死亡の記録', 'Death recorded'],
  $export: ['一括出力', 'Bulk export'],
  '$export-file': ['一括出力', 'Bulk export'],
  $pseudonymize: ['仮名化', 'Pseudonymization'],
  '$feed-network-id': ['地域ネットワークIDの登録', 'Regional network id fed'],
  $validate: ['検証', 'Validation'],
  $link: ['照合結果の確定', 'Match confirmed'],
};

/** AuditEvent.action when the subtype says nothing known. */
const AUDIT_ACTIONS = {
  C: ['作成', 'Create'],
  R: ['閲覧', 'Read'],
  U: ['更新', 'Update'],
  D: ['削除', 'Delete'],
  E: ['実行', 'Execute'],
};

const OUTCOMES = {
  0: ['成功', 'Success'],
  4: ['拒否または失敗', 'Refused or failed'],
  8: ['失敗（サーバーの障害）', 'Failed (server error)'],
  12: ['重大な失敗', 'Major failure'],
};

/** What a record is about, by resource type. */
const TYPES = {
  Patient: ['基本情報', 'personal details'],
  Coverage: ['保険の記録', 'insurance'],
  EpisodeOfCare: ['受診の記録', 'care episodes'],
  Consent: ['同意', 'consents'],
  AuditEvent: ['アクセスの記録', 'access records'],
  Communication: ['お知らせ', 'notices'],
  CoverageEligibilityRequest: ['資格確認', 'eligibility'],
  CoverageEligibilityResponse: ['資格確認の結果', 'eligibility result'],
  Task: ['作業依頼', 'work item'],
  Observation: ['検査・観察', 'observations'],
  Condition: ['病名', 'conditions'],
  MedicationRequest: ['処方', 'prescriptions'],
  Encounter: ['受診', 'encounters'],
};

const ORG_KINDS = {
  medicalInstitutionCode: ['医療機関', 'medical institution'],
  insurerNumber: ['保険者', 'insurer'],
  regionalNetwork: ['地域医療連携ネットワーク', 'regional health network'],
  utilizingDatabase: ['データベース', 'database'],
  authorityUnit: ['運営機関', 'authority'],
  organization: ['組織', 'organization'],
  clientId: ['アプリ', 'application'],
};

const STATUSES = {
  active: ['有効', 'active'],
  inactive: ['取り消し済み', 'withdrawn'],
  cancelled: ['取消', 'cancelled'],
  draft: ['下書き', 'draft'],
  proposed: ['提案中', 'proposed'],
  rejected: ['却下', 'rejected'],
  'entered-in-error': ['誤登録', 'entered in error'],
  finished: ['終了', 'finished'],
  planned: ['予定', 'planned'],
  waitlist: ['待機中', 'waitlist'],
  onhold: ['保留', 'on hold'],
  completed: ['完了', 'completed'],
  'in-progress': ['進行中', 'in progress'],
};

const LOSS_REASONS = {
  '01': ['死亡', 'death'],
  '02': ['生活保護の受給開始', 'public assistance started'],
  '03': ['他の医療保険等の資格取得', 'new insurance'],
  99: ['その他', 'other'],
};

/** @type {Lang} */
let current = 'ja';

/** @returns {Lang} */
export function lang() {
  return current;
}

/** The language remembered, or Japanese. */
export function initialLang() {
  try {
    const saved = localStorage.getItem(STORAGE_KEY);
    if (saved === 'ja' || saved === 'en') return saved;
  } catch {
    // Storage blocked: Japanese.
  }
  return 'ja';
}

/**
 * Sets the language, remembers it, and sets `<html lang>` and the page's static texts
 * (elements with `data-i18n` for their text, `data-i18n-label` for their aria-label).
 * @param {Lang} l
 */
export function setLang(l) {
  current = l;
  try {
    localStorage.setItem(STORAGE_KEY, l);
  } catch {
    // Not remembered: still switched.
  }
  document.documentElement.lang = l;
  document.title = t('title');
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.getAttribute('data-i18n') ?? '');
  for (const el of document.querySelectorAll('[data-i18n-label]'))
    el.setAttribute('aria-label', t(el.getAttribute('data-i18n-label') ?? ''));
}

/**
 * A text in the current language, `{name}` filled in from `vars`.
 * @param {string} key
 * @param {Record<string, string | number>} [vars]
 */
export function t(key, vars = {}) {
  const s = TEXT[current][key] ?? TEXT.ja[key] ?? key;
  return s.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
}

/**
 * @param {Record<string, string[]>} table
 * @param {string | number | undefined} code
 * @returns {string | undefined}
 */
function label(table, code) {
  if (code === undefined) return undefined;
  const pair = table[String(code)];
  return pair ? pair[current === 'ja' ? 0 : 1] : undefined;
}

/** @param {string | undefined} code */
export const purposeLabel = (code) => (code ? (label(PURPOSES, code) ?? code) : undefined);
/** @param {string | undefined} code */
export const actionLabel = (code) => label(ACTIONS, code);
/** @param {string | undefined} code */
export const auditActionLabel = (code) => label(AUDIT_ACTIONS, code);
/** @param {string | undefined} code */
export const outcomeLabel = (code) => (code === undefined ? undefined : (label(OUTCOMES, code) ?? code));
/** @param {string | undefined} type */
export const typeLabel = (type) => (type ? (label(TYPES, type) ?? type) : undefined);
/** @param {string} kind one of the config's `systems` keys */
export const orgKindLabel = (kind) => label(ORG_KINDS, kind) ?? kind;
/** @param {string | undefined} status */
export const statusLabel = (status) => (status ? (label(STATUSES, status) ?? status) : undefined);
/** @param {string | undefined} code */
export const lossReasonLabel = (code) => (code ? (label(LOSS_REASONS, code) ?? code) : undefined);

/** The language's locale for dates. */
const locale = () => (current === 'ja' ? 'ja-JP' : 'en-GB');

/**
 * An instant in the browser's time zone, the language's way (2025年1月2日 9:03).
 * @param {string | undefined} iso
 */
export function formatTime(iso) {
  if (!iso) return undefined;
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return new Intl.DateTimeFormat(locale(), { dateStyle: 'long', timeStyle: 'short' }).format(d);
}

/**
 * A FHIR date (YYYY, YYYY-MM, YYYY-MM-DD, or a dateTime's day) as a calendar day, no time zone shift.
 * @param {string | undefined} value
 */
export function formatDay(value) {
  if (!value) return undefined;
  const m = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?/.exec(value);
  if (!m) return value;
  const [, y, mo, d] = m;
  /** @type {Intl.DateTimeFormatOptions} */
  const opts = { timeZone: 'UTC', year: 'numeric', ...(mo ? { month: 'long' } : {}), ...(d ? { day: 'numeric' } : {}) };
  return new Intl.DateTimeFormat(locale(), opts).format(new Date(Date.UTC(Number(y), Number(mo ?? 1) - 1, Number(d ?? 1))));
}

/**
 * A period from its start and end days.
 * @param {{ start?: string, end?: string } | undefined} p
 */
export function formatPeriod(p) {
  if (!p || (!p.start && !p.end)) return undefined;
  const from = formatDay(p.start) ?? '';
  const to = formatDay(p.end) ?? '';
  return current === 'ja' ? `${from} 〜 ${to}` : `${from} – ${to}`;
}
