// The FunctionCode that template.yaml embeds for one CloudFront Function resource, for the
// tests that check each embedded copy against its source file. Not a test itself.

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const template = join(dirname(fileURLToPath(import.meta.url)), '..', 'template.yaml');

/**
 * The `FunctionCode: |` (or `FunctionCode: !Sub |`) block of resource `name` (e.g.
 * ImagePathFunction), unindented, as written: a `!Sub` placeholder is left in place.
 */
export function embeddedFunctionCode(name) {
    const lines = readFileSync(template, 'utf8').split('\n');
    const resource = lines.indexOf(`  ${name}:`);
    if (resource === -1) {
        throw new Error(`template.yaml has no resource ${name}`);
    }
    const end = lines.findIndex((line, i) => i > resource && /^ {0,2}\S/.test(line));
    const start = lines.findIndex((line, i) => i > resource && /^\s+FunctionCode: (!Sub )?\|$/.test(line));
    if (start === -1 || (end !== -1 && start > end)) {
        throw new Error(`template.yaml's ${name} has no \`FunctionCode: |\` or \`FunctionCode: !Sub |\` block`);
    }
    const indent = lines[start].search(/\S/) + 2;
    const body = [];
    for (const line of lines.slice(start + 1)) {
        if (line.trim() !== '' && line.search(/\S/) < indent) break;
        body.push(line.slice(indent));
    }
    while (body.length > 0 && body[body.length - 1] === '') body.pop();
    return `${body.join('\n')}\n`;
}
