import type { CliCommand } from '../command';
import { benchCommand } from './bench';
import { infoCommand } from './info';

/** Every CLI subcommand, in the order `trickle-rt help` lists them. */
export const commands: CliCommand[] = [infoCommand, benchCommand];
