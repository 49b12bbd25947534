#!/usr/bin/env node
// @oclif/core/execute avoids loading the whole barrel before a command is chosen (faster --help).
import {execute} from '@oclif/core/execute'

await execute({dir: import.meta.url})
