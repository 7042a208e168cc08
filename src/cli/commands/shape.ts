import type { Command } from '../command.js';
import { MrpoError } from '../../errors.js';

// Being written in this session (issue 2); replaced before commit.
export const shapeCommand: Command = {
  name: 'shape',
  summary: 'rewards and (per-token) advantages for groups of completions: JSON in, JSON out',
  help: 'mrpo shape [--in FILE] [--out FILE]',
  async run() {
    throw new MrpoError('shape: not implemented yet');
  },
};
