/** Strings compartilhadas (src/ui) em português do Brasil: o tipo `UiMessages` exige todas as chaves. */
import type { UiMessages } from './en.ts';

const n = (x: number) => x.toLocaleString('pt-BR');
const plural = (x: number, one: string, other: string) => `${n(x)} ${x === 1 ? one : other}`;

export const uiPtBR: UiMessages = {
  language_label: 'Idioma',
  error_detail: 'O que aconteceu:',
  back: 'Voltar',
  retry: 'Tentar novamente',
  login_scan: 'Aponte a câmera do celular para o código QR,',
  login_or_open: 'ou abra este endereço em qualquer aparelho',
  login_enter_code: 'e digite este código:',
  login_qr_alt: 'Código QR que abre no celular a página de acesso do Koder ID',
  login_time_left: (clock: string) => `O código expira em ${clock}`,
  login_time_over: 'Este código expirou.',
  login_waiting: 'Aguardando você aprovar o acesso…',
  shared_by: 'Compartilhado por',
  chain_full: 'Snapshot completo',
  chain_depth: (d: number) => `Cadeia de ${n(d)} snapshots`,
  count_packages: (x: number) => plural(x, 'pacote', 'pacotes'),
  count_repos: (x: number) => plural(x, 'repositório', 'repositórios'),
  count_folders: (x: number) => plural(x, 'pasta', 'pastas'),
  card_reading: 'Lendo o que ele contém…',
  card_unreadable: 'Não foi possível ler o que ele contém',
  card_refused: 'Não passou na verificação: não pode ser restaurado',
  bytes_of: (done: string, total: string) => `${done} de ${total}`,
  eta_minutes: (x: number) => (x === 1 ? 'Falta cerca de 1 minuto' : `Faltam cerca de ${n(x)} minutos`),
  eta_hours: (h: number, min: number) => `Faltam cerca de ${n(h)} h ${String(min).padStart(2, '0')} min`,
  eta_under_minute: 'Falta menos de um minuto',
  eta_unknown: 'Calculando o tempo restante…',
  status_pending: 'Aguardando',
  status_running: 'Em andamento',
  status_done: 'Concluído',
  status_skipped: 'Pulado',
  status_failed: 'Falhou',
  cat_system: 'Configurações do sistema',
  cat_apps: 'Aplicativos',
  cat_repos: 'Repositórios Git',
  cat_secrets: 'Segredos',
  cat_files: 'Documentos e arquivos',
  show_secret: 'Mostrar',
};
