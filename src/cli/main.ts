#!/usr/bin/env node
/**
 * The `mri2ct` command line: one subcommand per file in ./commands, parsed by commander
 * (every command has --help). This file only wires commands and turns errors into a clear
 * message and exit code; the work lives in the library.
 */
import { Command } from 'commander';
import { Mri2ctError } from '../errors';
import { registerCacheSpeed } from './commands/cache-speed';
import { registerCheckEnv } from './commands/check-env';
import { registerEvaluate } from './commands/evaluate';
import { registerInfo } from './commands/info';
import { registerPhantom } from './commands/phantom';
import { registerPredict } from './commands/predict';
import { registerPreprocess } from './commands/preprocess';
import { registerRegister } from './commands/register';
import { registerRun } from './commands/run';
import { registerSingleSteps } from './commands/single-steps';
import { registerTrain } from './commands/train';

export function buildProgram(): Command {
  const program = new Command('mri2ct')
    .description('Fast MRI-to-CT (synthetic CT) training: preprocess once into a cache, then train fast from it.')
    .version((require('../../../package.json') as { version: string }).version)
    .showHelpAfterError('(add --help for usage)')
    .option('--verbose', "show TensorFlow's own start-up log lines (hidden by default; same as MRI2CT_TF_VERBOSE=1)")
    .hook('preAction', (cmd) => {
      if (cmd.opts()['verbose'] === true) process.env['MRI2CT_TF_VERBOSE'] = '1';
    });

  registerRun(program);
  registerCheckEnv(program);
  registerPhantom(program);
  registerPreprocess(program);
  registerRegister(program);
  registerTrain(program);
  registerCacheSpeed(program);
  registerSingleSteps(program);
  registerPredict(program);
  registerEvaluate(program);
  registerInfo(program);

  return program;
}

export async function main(argv: string[] = process.argv): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    if (err instanceof Mri2ctError) {
      console.error(`mri2ct: ${err.name}: ${err.message}`);
      process.exitCode = 2;
      return;
    }
    throw err;
  }
}

if (require.main === module) {
  void main();
}
