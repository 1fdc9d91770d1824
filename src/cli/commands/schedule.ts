/** `koder-snapshot schedule enable|disable|status`: the weekly capture as a systemd user timer. */
import { EXIT_FAILED, EXIT_OK, UsageError, parseCommandArgs, type Command } from '../command.ts';
import { disableSchedule, enableSchedule, scheduleStatus, selfCommand, SERVICE_NAME, TIMER_NAME } from '../../capture/index.ts';

const usage = `Usage: koder-snapshot schedule enable|disable|status

Runs \`koder-snapshot capture\` every week with a systemd user timer
(${TIMER_NAME}, Persistent=true: a week missed while the machine was off
runs at the next start) and service (${SERVICE_NAME}), written in
~/.config/systemd/user/. Its output goes to the journal:
  journalctl --user -u ${SERVICE_NAME.replace(/\.service$/, '')}

  enable    write the units, then systemctl --user daemon-reload and
            enable --now the timer
  disable   stop and disable the timer, remove the units
  status    whether it is set up, enabled, and the next and last run

Exit status: 0 done; 1 the units are written but systemctl --user could not
enable them (no user session bus: the message says how to finish); 2 usage.`;

export const schedule: Command = {
  name: 'schedule',
  summary: 'capture weekly with a systemd user timer (enable|disable|status)',
  usage,
  async run(args, io) {
    const parsed = parseCommandArgs(this, args, {}, io, true);
    if (!parsed) return EXIT_OK;
    const [action, ...extra] = parsed.positionals;
    if (extra.length) throw new UsageError(`unexpected argument '${extra[0]}'`);
    const command = selfCommand();
    switch (action) {
      case 'enable': {
        const r = await enableSchedule(command);
        io.out(`wrote ${r.service}`);
        io.out(`wrote ${r.timer}`);
        if (r.active) {
          io.out(`enabled: ${TIMER_NAME} runs \`koder-snapshot capture\` weekly (logs: journalctl --user -u ${SERVICE_NAME})`);
          return EXIT_OK;
        }
        io.err(`koder-snapshot schedule: the timer is NOT enabled: ${r.problem}`);
        io.err(`To enable it, run in your desktop session (or after logging in again):`);
        for (const m of r.manual) io.err(`  ${m}`);
        return EXIT_FAILED;
      }
      case 'disable': {
        const r = await disableSchedule();
        for (const f of r.removed) io.out(`removed ${f}`);
        if (r.removed.length === 0) io.out('no schedule was set up');
        if (!r.stopped) io.err(`note: ${r.problem}; the files are removed, so the timer will not run after the next login`);
        return EXIT_OK;
      }
      case 'status': {
        const s = await scheduleStatus(command);
        io.out(`units: ${s.installed ? (s.current ? 'installed' : 'installed (written by another version or edited: run `schedule enable` to rewrite)') : 'not installed'}`);
        if (s.enabled) io.out(`timer: ${s.enabled}${s.active ? `, ${s.active}` : ''}`);
        if (s.next) io.out(`next run: ${s.next}`);
        if (s.last) io.out(`last run: ${s.last}${s.lastResult ? ` (${s.lastResult})` : ''}`);
        if (s.problem) io.err(`note: ${s.problem}`);
        return EXIT_OK;
      }
      default:
        throw new UsageError(action ? `unknown action '${action}' (enable, disable or status)` : 'give an action: enable, disable or status');
    }
  },
};
