// Argument values a model would plausibly fill in for a tool's inputSchema (or a prompt's
// arguments): the property's default, const or first enum value, else a sample of its type.
// Same-document $refs (#/$defs/…, #/definitions/…) are followed; network $refs never are
// (SEP-2106: a client MUST NOT dereference them automatically).

export type Json = Record<string, any>;

const SAMPLES: Record<string, unknown> = { string: 'example', integer: 1, number: 2, boolean: true, object: {}, array: [], null: null };

function localRef(ref: string, root: Json): Json | undefined {
  if (!ref.startsWith('#/')) return undefined;
  let node: any = root;
  for (const part of ref.slice(2).split('/')) node = node?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  return node && typeof node === 'object' ? node : undefined;
}

export function sampleValue(prop: Json, root: Json, depth = 0): unknown {
  if (typeof prop.$ref === 'string' && depth < 8) {
    const target = localRef(prop.$ref, root);
    return target ? sampleValue(target, root, depth + 1) : undefined;
  }
  if (prop.default !== undefined) return prop.default;
  if (prop.const !== undefined) return prop.const;
  if (Array.isArray(prop.enum) && prop.enum.length) return prop.enum[0];
  const type = Array.isArray(prop.type) ? prop.type.find((t: string) => t !== 'null') : prop.type;
  if (type === 'object' && prop.properties) return sampleArguments(prop, root, depth + 1);
  return SAMPLES[type as string] ?? 'example';
}

/** Values for the required properties of an object schema (what a tool call must carry). */
export function sampleArguments(schema: Json | undefined, root: Json | undefined = schema, depth = 0): Json {
  const out: Json = {};
  if (!schema || depth > 8) return out;
  const required = new Set<string>(schema.required ?? []);
  for (const [name, prop] of Object.entries<Json>(schema.properties ?? {})) {
    if (!required.has(name)) continue;
    const value = sampleValue(prop, root ?? schema, depth);
    if (value !== undefined) out[name] = value;
  }
  return out;
}
