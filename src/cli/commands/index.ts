import type { CliCommand } from '../command';
import { demoCommand } from './demo';
import { infoCommand } from './info';
import { publishCommand } from './publish';
import { serveCommand } from './serve';
import { subscribeCommand } from './subscribe';
import { trickleServerCommand } from './trickle-server';

/** Every CLI subcommand, in the order `trickle-rt help` lists them. */
export const commands: CliCommand[] = [demoCommand, serveCommand, infoCommand, trickleServerCommand, publishCommand, subscribeCommand];
