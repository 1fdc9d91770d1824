/**
 * The demo's fixture: a home folder and a system root as a person's laptop
 * would have them (documents, a repo with unpushed and uncommitted work, an
 * ssh key, system settings), built fresh in a scratch folder so `npm start`
 * captures it for real. `evolve(step)` changes it the way a week of work
 * would, so successive captures give a chain of deltas.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Fixture {
  home: string;
  root: string;
  evolve(step: number): void;
}

function git(cwd: string, args: string[]) {
  execFileSync('git', args, {
    cwd,
    env: { PATH: process.env.PATH, HOME: cwd, GIT_CONFIG_NOSYSTEM: '1', GIT_AUTHOR_NAME: 'Ana Demo', GIT_AUTHOR_EMAIL: 'ana@demo.koder.dev', GIT_COMMITTER_NAME: 'Ana Demo', GIT_COMMITTER_EMAIL: 'ana@demo.koder.dev' },
    stdio: 'ignore',
  });
}

function write(path: string, data: string | Buffer, mode?: number) {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, data);
  if (mode !== undefined) chmodSync(path, mode);
}

export function makeFixture(dir: string): Fixture {
  rmSync(dir, { recursive: true, force: true });
  const home = join(dir, 'home/ana');
  const root = join(dir, 'root');
  write(join(root, 'etc/hostname'), 'ana-laptop\n');
  write(join(root, 'etc/timezone'), 'America/Sao_Paulo\n');
  write(join(root, 'etc/default/locale'), 'LANG=pt_BR.UTF-8\n');
  write(join(root, 'etc/default/keyboard'), 'XKBMODEL="pc105"\nXKBLAYOUT="br"\nXKBVARIANT=""\nXKBOPTIONS=""\nBACKSPACE="guess"\n');

  write(join(home, 'Documentos/leia-me.txt'), 'Estes são os meus documentos. Restaurados pelo Koder Snapshots.\n');
  write(join(home, 'Documentos/contas/orcamento-2026.csv'), 'mês,receita,despesa\njaneiro,5000,4200\nfevereiro,5100,3900\n');
  write(join(home, 'Documentos/relatorio.bin'), Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 31) % 256)));
  write(join(home, 'Imagens/ferias/praia.raw'), Buffer.from(Array.from({ length: 120_000 }, (_, i) => (i * 17 + (i >> 7)) % 256)));
  write(join(home, '.ssh/id_ed25519'), '-----BEGIN OPENSSH PRIVATE KEY-----\ndemo-key-not-real-3b1f\n-----END OPENSSH PRIVATE KEY-----\n', 0o600);
  write(join(home, '.netrc'), 'machine flow.koder.dev login ana password demo-token-42\n', 0o600);

  const repo = join(home, 'dev/notas');
  mkdirSync(repo, { recursive: true });
  git(repo, ['init', '-q', '-b', 'main']);
  write(join(repo, 'README.md'), '# Notas\n\nIdeias para o projeto.\n');
  git(repo, ['add', '.']);
  git(repo, ['commit', '-q', '-m', 'Primeiras notas']);
  write(join(repo, 'ideias.md'), '- restaurar tudo com um QR code\n');

  return {
    home,
    root,
    evolve(step: number) {
      if (step === 1) {
        write(join(home, 'Documentos/contas/orcamento-2026.csv'), 'mês,receita,despesa\njaneiro,5000,4200\nfevereiro,5100,3900\nmarço,5200,4100\n');
        git(repo, ['add', '.']);
        git(repo, ['commit', '-q', '-m', 'Mais ideias']);
        write(join(repo, 'README.md'), '# Notas\n\nIdeias para o projeto (rascunho em andamento).\n');
      } else {
        write(join(root, 'etc/default/keyboard'), 'XKBMODEL="pc105"\nXKBLAYOUT="br"\nXKBVARIANT="abnt2"\nXKBOPTIONS=""\nBACKSPACE="guess"\n');
        write(join(home, 'Documentos/lista-de-compras.txt'), 'café\npão de queijo\n');
      }
    },
  };
}
