import type { CliCommand } from '../command';
import { benchCommand } from './bench';
import { infoCommand } from './info';
import { publishCommand } from './publish';
import { subscribeCommand } from './subscribe';
import { trickleServerCommand } from './trickle-server';

/** Every CLI subcommand, in the order `trickle-rt help` lists them. */
export const commands: CliCommand[] = [infoCommand, benchCommand, trickleServerCommand, publishCommand, subscribeCommand];
