// Does what a scenario's plan (plans.ts) says, through a connected desktop client. Errors of the
// protocol (a request that fails) propagate: the client script then exits 1, which the suite counts.
// A tool answering isError, or a skill the host refuses after verification, is an outcome the
// user sees, not a client failure: it is reported and the plan goes on.
import type { DesktopClient } from './desktop-client.js';
import type { Plan } from './plans.js';
import { sampleArguments, type Json } from './sample.js';
import { listSkills, loadSkill } from './skills-host.js';

export interface PlanContext {
  /** MCP_CONFORMANCE_CONTEXT as the suite passed it. */
  context?: Json;
  say(line: string): void;
}

function textOf(result: Json): string {
  return (result.content ?? []).map((c: Json) => (c.type === 'text' ? c.text : `[${c.type}]`)).join(' ').slice(0, 200);
}

async function call(client: DesktopClient, name: string, args: Json, ctx: PlanContext): Promise<void> {
  const result = await client.callTool(name, args);
  ctx.say(`tools/call ${name}: ${result.isError ? 'isError: ' : ''}${textOf(result)}`);
}

async function runTools(client: DesktopClient, plan: Plan, ctx: PlanContext): Promise<void> {
  const tools = await client.listTools();
  ctx.say(`tools/list: ${tools.map((t) => t.name).join(', ') || '(none)'}`);
  if (tools.some((t) => t.name === 'sign_in')) throw new Error('the proxy is serving its sign-in placeholder');
  const step = plan.tools;
  if (step === 'list') return;
  if (step === 'call-all') {
    for (const tool of tools) await call(client, tool.name, sampleArguments(tool.inputSchema), ctx);
  } else if (step === 'context-calls') {
    const calls: Json[] = ctx.context?.toolCalls ?? [];
    if (!calls.length) throw new Error('the plan calls the tools of MCP_CONFORMANCE_CONTEXT.toolCalls, and the suite passed none');
    for (const c of calls) await call(client, c.name, c.arguments ?? {}, ctx);
  } else {
    const { of, via, argument } = step.echoSchema;
    const focal = tools.find((t) => t.name === of);
    if (!focal) throw new Error(`tools/list has no ${of}`);
    await call(client, via, { [argument]: focal.inputSchema }, ctx);
  }
}

async function runResources(client: DesktopClient, ctx: PlanContext): Promise<void> {
  const resources = await client.listResources();
  ctx.say(`resources/list: ${resources.map((r) => r.uri).join(', ') || '(none)'}`);
  for (const r of resources) {
    const read = await client.readResource(r.uri);
    ctx.say(`resources/read ${r.uri}: ${(read.contents ?? []).length} content(s)`);
  }
}

async function runPrompts(client: DesktopClient, ctx: PlanContext): Promise<void> {
  const prompts = await client.listPrompts();
  ctx.say(`prompts/list: ${prompts.map((p) => p.name).join(', ') || '(none)'}`);
  for (const p of prompts) {
    const args: Record<string, string> = {};
    for (const a of p.arguments ?? []) if (a.required) args[a.name] = 'example';
    const got = await client.getPrompt(p.name, args);
    ctx.say(`prompts/get ${p.name}: ${(got.messages ?? []).length} message(s)`);
  }
}

/** The extension identifier a server declares under capabilities.extensions (SEP-2640). */
const SKILLS_EXTENSION = 'io.modelcontextprotocol/skills';

async function runSkills(client: DesktopClient, mode: 'list' | 'load-all', ctx: PlanContext): Promise<void> {
  // A host asks for skills only from a server that declares the extension.
  if (!client.capabilities().extensions?.[SKILLS_EXTENSION]) {
    throw new Error(`the server's capabilities (as the proxy passed them) do not declare ${SKILLS_EXTENSION}: ${JSON.stringify(client.capabilities())}`);
  }
  const skills = await listSkills(client);
  ctx.say(`skills/list: ${skills.map((s) => s.uri).join(', ') || '(none)'}`);
  if (mode === 'list') return;
  for (const skill of skills) {
    const load = await loadSkill(client, skill);
    ctx.say(load.loaded ? `skill ${load.uri} loaded (read ${load.filesRead.join(', ')})` : `skill refused: ${load.refused} (read ${load.filesRead.join(', ')})`);
  }
}

export async function runPlan(client: DesktopClient, plan: Plan, ctx: PlanContext): Promise<void> {
  await runTools(client, plan, ctx);
  if (plan.resources) await runResources(client, ctx);
  if (plan.prompts) await runPrompts(client, ctx);
  if (plan.skills) await runSkills(client, plan.skills, ctx);
}
