// Validates GitHub Actions workflows and composite actions with GitHub's own parser
// (@actions/workflow-parser, the one behind the Actions language service).
//
// Usage: node workflow-validator.cjs FILE...
// A file named action.yml/action.yaml is parsed as action metadata, anything else as a workflow.
// Prints one line per error and exits 1 when there is any; exits 2 on a
// usage or I/O error.
//
// `cargo xtask ci` bundles this file with esbuild (--platform=node --format=cjs): the parser imports
// its JSON schema without an import attribute, which Node 20 refuses to load as plain ESM.

import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { convertWorkflowTemplate, NoOperationTraceWriter, parseWorkflow } from "@actions/workflow-parser";
import { convertActionTemplate, parseAction } from "@actions/workflow-parser/actions/index";

const trace = new NoOperationTraceWriter();

// The parser's message already starts with "<file> (Line: L, Col: C): " when it knows the place.
function parseErrors(path, context) {
  return context.errors
    .getErrors()
    .map((error) => (error.prefix ? error.message : `${path}: ${error.message}`));
}

async function validateWorkflow(path, content) {
  const result = parseWorkflow({ name: path, content }, trace);
  const errors = parseErrors(path, result.context);
  if (errors.length > 0 || result.value === undefined) {
    return errors.length > 0 ? errors : [`${path}: the parser returned no workflow`];
  }
  const template = await convertWorkflowTemplate(result.context, result.value);
  const converted = (template.errors ?? []).map((error) => `${path}: ${error.Message}`);
  return converted.concat(parseErrors(path, result.context));
}

function validateAction(path, content) {
  const result = parseAction({ name: path, content }, trace);
  const errors = parseErrors(path, result.context);
  if (errors.length > 0 || result.value === undefined) {
    return errors.length > 0 ? errors : [`${path}: the parser returned no action`];
  }
  convertActionTemplate(result.context, result.value);
  return parseErrors(path, result.context);
}

async function main(paths) {
  if (paths.length === 0) {
    console.error("usage: workflow-validator FILE...");
    return 2;
  }
  let failed = 0;
  for (const path of paths) {
    let content;
    try {
      content = readFileSync(path, "utf8");
    } catch (error) {
      console.error(`${path}: cannot read: ${error.message}`);
      return 2;
    }
    const isAction = /^action\.ya?ml$/.test(basename(path));
    const errors = isAction ? validateAction(path, content) : await validateWorkflow(path, content);
    const unique = [...new Set(errors)];
    for (const line of unique) console.log(line);
    if (unique.length > 0) failed += 1;
    else console.log(`ok ${path} (${isAction ? "action" : "workflow"})`);
  }
  console.log(`${paths.length - failed} of ${paths.length} files valid`);
  return failed > 0 ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    console.error(`workflow-validator crashed: ${error?.stack ?? error}`);
    process.exit(2);
  },
);
