/**
 * The words of the sign-in pages, in English and Brazilian Portuguese. The
 * language comes from `?lang=`, else the browser's Accept-Language, else en.
 */
export type Lang = 'en' | 'pt-BR';

export const LANGS: Lang[] = ['en', 'pt-BR'];

const en = {
  product: 'Koder ID',
  langName: 'English',
  deviceTitle: 'Connect a device',
  deviceIntro: 'Type the code shown on the device you are setting up.',
  codeLabel: 'Code',
  codeHint: 'Eight letters, like BCDF-GHJK. Letters only; the dash is optional.',
  continue: 'Continue',
  codeWrong: 'That code is not valid. Check it and try again.',
  codeExpired: 'That code has expired. Start again on the device to get a new one.',
  codeUsed: 'That code was already used. Start again on the device to get a new one.',
  codeMissing: 'Type the code shown on the device.',
  codeStale: 'This form expired or was already sent. Type the code again.',
  aborted: 'Sign-in was canceled. You can close this page.',
  genericError: 'Something went wrong. Try again.',
  confirmTitle: 'Is this your device?',
  confirmIntro: 'Continue only if this same code is on the screen of the device you are setting up:',
  confirmFrom: 'Request made from',
  confirmWarn: 'If you did not start this, or the code does not match, choose “Cancel”.',
  cancel: 'Cancel',
  loginTitle: 'Sign in to Koder ID',
  loginIntro: 'to connect {client}.',
  username: 'User name',
  password: 'Password',
  signIn: 'Sign in',
  loginFailed: 'User name or password is incorrect.',
  loginThrottled: 'Too many failed attempts. Wait a few minutes and try again.',
  loginMissingUser: 'Type your user name.',
  loginMissingPassword: 'Type your password.',
  loginMissingBoth: 'Type your user name and your password.',
  consentTitle: 'Allow access?',
  consentIntro: '{client} asks, for {user}:',
  scope_openid: 'to know who you are (your Koder ID)',
  scope_offline_access: 'to stay connected, without asking again, until you sign out',
  scope_snapshots: 'to list, read, create, share and delete your snapshots and your key vault',
  allow: 'Allow',
  deny: 'Deny',
  successTitle: 'Device connected',
  successText: 'You can close this page and go back to the device.',
  errorTitle: 'Something went wrong',
  interactionGone: 'This sign-in page expired. Start again on the device.',
  formTooLarge: 'The form sent was too large. Start again on the device.',
  notFoundTitle: 'Page not found',
  notFoundText: 'There is nothing at this address. To connect a device, open the link it shows.',
  otherLanguage: 'Language',
};

export type Strings = typeof en;

const ptBR: Strings = {
  product: 'Koder ID',
  langName: 'Português (Brasil)',
  deviceTitle: 'Conectar um dispositivo',
  deviceIntro: 'Digite o código mostrado no dispositivo que você está configurando.',
  codeLabel: 'Código',
  codeHint: 'Oito letras, como BCDF-GHJK. Só letras; o traço é opcional.',
  continue: 'Continuar',
  codeWrong: 'Esse código não é válido. Confira e tente de novo.',
  codeExpired: 'Esse código expirou. Recomece no dispositivo para receber um novo.',
  codeUsed: 'Esse código já foi usado. Recomece no dispositivo para receber um novo.',
  codeMissing: 'Digite o código mostrado no dispositivo.',
  codeStale: 'Este formulário expirou ou já foi enviado. Digite o código de novo.',
  aborted: 'A entrada foi cancelada. Você pode fechar esta página.',
  genericError: 'Algo deu errado. Tente de novo.',
  confirmTitle: 'Este dispositivo é seu?',
  confirmIntro: 'Continue só se este mesmo código estiver na tela do dispositivo que você está configurando:',
  confirmFrom: 'Pedido feito a partir de',
  confirmWarn: 'Se não foi você quem começou, ou se o código não bate, escolha “Cancelar”.',
  cancel: 'Cancelar',
  loginTitle: 'Entrar no Koder ID',
  loginIntro: 'para conectar {client}.',
  username: 'Nome de usuário',
  password: 'Senha',
  signIn: 'Entrar',
  loginFailed: 'Nome de usuário ou senha incorretos.',
  loginThrottled: 'Tentativas erradas demais. Espere alguns minutos e tente de novo.',
  loginMissingUser: 'Digite seu nome de usuário.',
  loginMissingPassword: 'Digite sua senha.',
  loginMissingBoth: 'Digite seu nome de usuário e sua senha.',
  consentTitle: 'Permitir acesso?',
  consentIntro: '{client} pede, para {user}:',
  scope_openid: 'saber quem você é (sua Koder ID)',
  scope_offline_access: 'continuar conectado, sem perguntar de novo, até você sair',
  scope_snapshots: 'listar, ler, criar, compartilhar e apagar seus snapshots e seu cofre de chaves',
  allow: 'Permitir',
  deny: 'Negar',
  successTitle: 'Dispositivo conectado',
  successText: 'Você pode fechar esta página e voltar ao dispositivo.',
  errorTitle: 'Algo deu errado',
  interactionGone: 'Esta página de entrada expirou. Recomece no dispositivo.',
  formTooLarge: 'O formulário enviado era grande demais. Recomece no dispositivo.',
  notFoundTitle: 'Página não encontrada',
  notFoundText: 'Não há nada neste endereço. Para conectar um dispositivo, abra o link que ele mostra.',
  otherLanguage: 'Idioma',
};

const table: Record<Lang, Strings> = { en, 'pt-BR': ptBR };

export function strings(lang: Lang): Strings {
  return table[lang];
}

/** `explicit` (a ?lang= value) wins; then the first Accept-Language we speak. */
export function pickLang(acceptLanguage: string | undefined, explicit?: string | null): Lang {
  const norm = (t: string): Lang | undefined => {
    const l = t.trim().toLowerCase();
    if (l.startsWith('pt')) return 'pt-BR';
    if (l.startsWith('en')) return 'en';
    return undefined;
  };
  if (explicit) {
    const l = norm(explicit);
    if (l) return l;
  }
  const ranked = (acceptLanguage ?? '')
    .split(',')
    .map((part) => {
      const [tag = '', ...params] = part.split(';');
      const q = params.map((p) => /^\s*q=([\d.]+)/.exec(p)?.[1]).find(Boolean);
      return { tag, q: q ? Number(q) : 1 };
    })
    .filter((x) => x.q > 0)
    .sort((a, b) => b.q - a.q);
  for (const { tag } of ranked) {
    const l = norm(tag);
    if (l) return l;
  }
  return 'en';
}

export function fill(template: string, vars: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (_, k: string) => vars[k] ?? '');
}
