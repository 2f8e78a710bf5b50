/**
 * The git-ignored virtualenv bench/.venv holding the pinned Splink (bench/splink/requirements.txt),
 * created on first run with pip from PyPI and rebuilt when the pins change. When Python or PyPI is
 * unavailable the benchmark carries on without Splink and says why.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface SplinkEnv {
  python: string;
  splinkVersion: string;
  duckdbVersion: string;
}

export type SplinkEnvResult = { ok: true; env: SplinkEnv } | { ok: false; reason: string };

function tail(text: string, lines = 6): string {
  return text
    .trim()
    .split('\n')
    .filter((l) => !/^WARNING: Location 'file:/.test(l))
    .slice(-lines)
    .join('\n');
}

export async function ensureSplinkEnv(repoRoot: string, log: (line: string) => void): Promise<SplinkEnvResult> {
  const venv = join(repoRoot, 'bench', '.venv');
  const requirements = join(repoRoot, 'bench', 'splink', 'requirements.txt');
  const marker = join(venv, '.requirements.sha256');
  const python = join(venv, 'bin', 'python');
  const wanted = createHash('sha256')
    .update(await readFile(requirements))
    .digest('hex');
  const current = existsSync(marker) ? (await readFile(marker, 'utf8')).trim() : '';
  if (!existsSync(python) || current !== wanted) {
    const system = ['python3', 'python'].find((p) => spawnSync(p, ['--version'], { encoding: 'utf8' }).status === 0);
    if (!system) return { ok: false, reason: 'no python3 on PATH to create bench/.venv' };
    log(`creating bench/.venv with the pinned Splink (pip install -r bench/splink/requirements.txt; once) ...`);
    await rm(venv, { recursive: true, force: true });
    const made = spawnSync(system, ['-m', 'venv', venv], { encoding: 'utf8' });
    if (made.status !== 0) return { ok: false, reason: `python -m venv failed: ${tail(made.stderr)}` };
    const pip = spawnSync(
      join(venv, 'bin', 'pip'),
      ['install', '--disable-pip-version-check', '--quiet', '--timeout', '30', '--retries', '1', '-r', requirements],
      { encoding: 'utf8', timeout: 20 * 60 * 1000 },
    );
    if (pip.status !== 0) {
      await rm(venv, { recursive: true, force: true });
      return {
        ok: false,
        reason: `pip could not install the pinned Splink from PyPI (is PyPI reachable?):\n${tail(pip.stderr || pip.stdout)}`,
      };
    }
    await writeFile(marker, `${wanted}\n`);
  }
  const probe = spawnSync(python, ['-c', 'import splink, duckdb; print(splink.__version__, duckdb.__version__)'], {
    encoding: 'utf8',
  });
  if (probe.status !== 0) return { ok: false, reason: `bench/.venv cannot import splink: ${tail(probe.stderr)}` };
  const [splinkVersion = '?', duckdbVersion = '?'] = probe.stdout.trim().split(/\s+/);
  return { ok: true, env: { python, splinkVersion, duckdbVersion } };
}
