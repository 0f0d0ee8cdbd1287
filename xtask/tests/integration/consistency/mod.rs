//! Static consistency of an environment's Terraform, since `terraform validate` cannot run here (the
//! AWS provider cannot be downloaded). Every `.tf` file is parsed with a real HCL parser and:
//!
//! - every `file()`/`templatefile()` path resolves to an existing file;
//! - every generated file under `generated/` is read exactly once, by the function, resource and
//!   attribute it is meant for, with exactly the template variables it contains; none is orphaned;
//! - every `var.`, `local.`, `data.`, `module.` and resource reference resolves to a declaration
//!   (the generated `xtask.generated.tf.json` locals included, down to each `local.xtask.<key>`).
//!
//! Used by `environment.rs` (on the committed environments) and by the `new-env` scaffold test.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

use hcl::expr::{Expression, ObjectKey, TemplateExpr, TraversalOperator};
use hcl::template::{Directive, Element, Template};
use hcl::{Block, BlockLabel, Body};

/// Role keys of the contract, in file-name form.
pub const ROLE_KEYS: [&str; 11] = [
    "pull-request-entry",
    "protected-entry",
    "apply-entry",
    "plan",
    "backend",
    "deploy",
    "migrate",
    "state-machine",
    "ecs-execution",
    "ecs-task",
    "notifier",
];
/// Roles assumed by chaining, whose trust policy carries `${external_id}`.
pub const CHAINED_ROLES: [&str; 4] = ["plan", "backend", "deploy", "migrate"];
/// Roles with a trust policy and no permission policy.
pub const TRUST_ONLY_ROLES: [&str; 1] = ["ecs-task"];

pub const GENERATED_LOCALS_FILE: &str = "xtask.generated.tf.json";

/// One `file()`/`templatefile()` call.
#[derive(Debug, Clone)]
pub struct FileUse {
    /// The path relative to the environment directory, normalized.
    pub path: PathBuf,
    pub function: String,
    /// `aws_iam_role.plan`, `data.archive_file.x`, `locals`, ...
    pub address: String,
    pub attribute: String,
    /// templatefile's variables: name -> the referenced traversal, rendered (`var.external_ids.plan`).
    pub template_vars: BTreeMap<String, String>,
}

/// What the check found.
#[derive(Debug, Default)]
pub struct Report {
    pub problems: Vec<String>,
    pub file_uses: Vec<FileUse>,
    pub modules: Vec<PathBuf>,
}

/// Checks the environment directory `env_dir` (for example `environments/dev`).
pub fn check_environment(env_dir: &Path) -> Report {
    let mut report = Report::default();
    let mut module_dirs = Vec::new();
    collect_module_dirs(env_dir, &mut module_dirs);
    module_dirs.sort();
    if !module_dirs.iter().any(|dir| dir == env_dir) {
        report
            .problems
            .push(format!("{}: no .tf files", env_dir.display()));
    }
    for dir in &module_dirs {
        check_module(env_dir, dir, &mut report);
        report.modules.push(dir.clone());
    }
    check_generated_files(env_dir, &mut report);
    check_backend(env_dir, &mut report);
    report
}

fn collect_module_dirs(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut has_tf = false;
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if !matches!(name.as_str(), ".terraform" | "node_modules" | ".git") {
                collect_module_dirs(&path, out);
            }
        } else if name.ends_with(".tf") {
            has_tf = true;
        }
    }
    if has_tf {
        out.push(dir.to_path_buf());
    }
}

#[derive(Default)]
struct Declarations {
    variables: BTreeSet<String>,
    locals: BTreeSet<String>,
    resources: BTreeSet<String>,
    data: BTreeSet<String>,
    modules: BTreeSet<String>,
    /// The value of `local.xtask` from the generated locals file, to check each key used.
    xtask: Option<serde_json::Value>,
}

fn label(block: &Block, index: usize) -> Option<&str> {
    block.labels().get(index).map(BlockLabel::as_str)
}

fn check_module(env_dir: &Path, dir: &Path, report: &mut Report) {
    let mut bodies = Vec::new();
    let mut declarations = Declarations::default();
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| entries.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    for path in files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.ends_with(".tf.json") {
            read_json_module_file(&path, &mut declarations, report);
        } else if name.ends_with(".tf") {
            let text = match std::fs::read_to_string(&path) {
                Ok(text) => text,
                Err(error) => {
                    report
                        .problems
                        .push(format!("{}: cannot read: {error}", path.display()));
                    continue;
                }
            };
            match hcl::parse(&text) {
                Ok(body) => bodies.push((path, body)),
                Err(error) => report
                    .problems
                    .push(format!("{}: HCL parse error: {error}", path.display())),
            }
        }
    }
    for (_, body) in &bodies {
        declare(body, &mut declarations);
    }
    // The parent's generated locals are read by a jsondecode(file(...)) in the bootstrap root.
    if declarations.xtask.is_none() && declarations.locals.contains("xtask") {
        let parent_generated = dir.join("..").join(GENERATED_LOCALS_FILE);
        if let Ok(text) = std::fs::read_to_string(&parent_generated)
            && let Ok(value) = serde_json::from_str::<serde_json::Value>(&text)
        {
            declarations.xtask = value.pointer("/locals/xtask").cloned();
        }
    }
    let mut walker = Walker {
        env_dir,
        module_dir: dir,
        declarations: &declarations,
        report,
        file: PathBuf::new(),
        address: String::new(),
        attribute: String::new(),
    };
    for (path, body) in &bodies {
        walker.file = path.clone();
        walker.top_level(body);
    }
}

fn read_json_module_file(path: &Path, declarations: &mut Declarations, report: &mut Report) {
    let value: serde_json::Value = match std::fs::read_to_string(path)
        .map_err(|e| e.to_string())
        .and_then(|text| serde_json::from_str(&text).map_err(|e| e.to_string()))
    {
        Ok(value) => value,
        Err(error) => {
            report
                .problems
                .push(format!("{}: invalid JSON: {error}", path.display()));
            return;
        }
    };
    let Some(object) = value.as_object() else {
        report
            .problems
            .push(format!("{}: not a JSON object", path.display()));
        return;
    };
    for (kind, content) in object {
        match kind.as_str() {
            "locals" => {
                for (name, local) in content.as_object().into_iter().flatten() {
                    declarations.locals.insert(name.clone());
                    if name == "xtask" {
                        declarations.xtask = Some(local.clone());
                    }
                }
            }
            // Terraform's JSON comment key.
            "//" => {}
            "variable" => {
                for name in content.as_object().into_iter().flatten().map(|(k, _)| k) {
                    declarations.variables.insert(name.clone());
                }
            }
            other => report.problems.push(format!(
                "{}: top-level `{other}` in JSON is not checked by this test; keep generated JSON to locals and variables",
                path.display()
            )),
        }
    }
}

fn declare(body: &Body, declarations: &mut Declarations) {
    for block in body.blocks() {
        match (block.identifier(), label(block, 0), label(block, 1)) {
            ("variable", Some(name), _) => {
                declarations.variables.insert(name.to_owned());
            }
            ("locals", _, _) => {
                for attribute in block.body().attributes() {
                    declarations.locals.insert(attribute.key().to_owned());
                }
            }
            ("resource", Some(kind), Some(name)) => {
                declarations.resources.insert(format!("{kind}.{name}"));
            }
            ("data", Some(kind), Some(name)) => {
                declarations.data.insert(format!("{kind}.{name}"));
            }
            ("module", Some(name), _) => {
                declarations.modules.insert(name.to_owned());
            }
            _ => {}
        }
    }
}

struct Walker<'a> {
    env_dir: &'a Path,
    module_dir: &'a Path,
    declarations: &'a Declarations,
    report: &'a mut Report,
    file: PathBuf,
    address: String,
    attribute: String,
}

impl Walker<'_> {
    fn problem(&mut self, message: String) {
        let file = self
            .file
            .strip_prefix(self.env_dir)
            .unwrap_or(&self.file)
            .display()
            .to_string();
        self.report.problems.push(format!(
            "{file}: {} {}: {message}",
            self.address, self.attribute
        ));
    }

    fn top_level(&mut self, body: &Body) {
        for attribute in body.attributes() {
            self.address = "(top level)".to_owned();
            self.attribute = attribute.key().to_owned();
            self.problem("attributes are not allowed at the top level".to_owned());
        }
        for block in body.blocks() {
            self.address = match (block.identifier(), label(block, 0), label(block, 1)) {
                ("resource", Some(kind), Some(name)) => format!("{kind}.{name}"),
                ("data", Some(kind), Some(name)) => format!("data.{kind}.{name}"),
                (kind, Some(name), _) => format!("{kind}.{name}"),
                (kind, None, _) => kind.to_owned(),
            };
            self.body(block.body(), block.identifier(), &[]);
        }
    }

    fn body(&mut self, body: &Body, block_kind: &str, scope: &[String]) {
        for attribute in body.attributes() {
            let key = attribute.key();
            // Type constraints and meta-arguments that name attributes or providers are not
            // references.
            let skip = matches!(
                (block_kind, key),
                ("variable", "type") | ("lifecycle", "ignore_changes") | (_, "provider")
            );
            if skip {
                continue;
            }
            self.attribute = key.to_owned();
            self.expr(attribute.expr(), scope);
        }
        for block in body.blocks() {
            if block.identifier() == "dynamic" {
                let iterator = block
                    .body()
                    .attributes()
                    .find(|a| a.key() == "iterator")
                    .and_then(|a| match a.expr() {
                        Expression::Variable(v) => Some(v.as_str().to_owned()),
                        _ => None,
                    })
                    .or_else(|| label(block, 0).map(str::to_owned));
                let mut inner = scope.to_vec();
                inner.extend(iterator);
                for attribute in block.body().attributes() {
                    self.attribute = format!("dynamic.{}", attribute.key());
                    let attribute_scope = if attribute.key() == "for_each" {
                        scope
                    } else {
                        &inner
                    };
                    self.expr(attribute.expr(), attribute_scope);
                }
                for content in block.body().blocks() {
                    self.body(content.body(), content.identifier(), &inner);
                }
            } else {
                self.body(block.body(), block.identifier(), scope);
            }
        }
    }

    fn expr(&mut self, expr: &Expression, scope: &[String]) {
        match expr {
            Expression::Null
            | Expression::Bool(_)
            | Expression::Number(_)
            | Expression::String(_) => {}
            Expression::Array(items) => {
                for item in items {
                    self.expr(item, scope);
                }
            }
            Expression::Object(object) => {
                for (key, value) in object {
                    if let ObjectKey::Expression(key) = key {
                        // A parenthesised or interpolated key is an expression; a bare word
                        // parses as a variable but is a literal key.
                        if !matches!(key, Expression::Variable(_)) {
                            self.expr(key, scope);
                        }
                    }
                    self.expr(value, scope);
                }
            }
            Expression::TemplateExpr(template) => self.template_expr(template, scope),
            Expression::Variable(variable) => {
                if !scope.iter().any(|bound| bound == variable.as_str()) {
                    self.problem(format!("`{}` is not declared", variable.as_str()));
                }
            }
            Expression::Traversal(traversal) => {
                self.reference(traversal, scope);
                if !matches!(traversal.expr, Expression::Variable(_)) {
                    self.expr(&traversal.expr, scope);
                }
                for operator in &traversal.operators {
                    if let TraversalOperator::Index(index) = operator {
                        self.expr(index, scope);
                    }
                }
            }
            Expression::FuncCall(call) => {
                let name = call.name.name.as_str();
                if matches!(name, "file" | "templatefile") {
                    self.file_use(name, &call.args);
                }
                for arg in &call.args {
                    self.expr(arg, scope);
                }
            }
            Expression::Parenthesis(inner) => self.expr(inner, scope),
            Expression::Conditional(conditional) => {
                self.expr(&conditional.cond_expr, scope);
                self.expr(&conditional.true_expr, scope);
                self.expr(&conditional.false_expr, scope);
            }
            Expression::Operation(operation) => match operation.as_ref() {
                hcl::expr::Operation::Unary(unary) => self.expr(&unary.expr, scope),
                hcl::expr::Operation::Binary(binary) => {
                    self.expr(&binary.lhs_expr, scope);
                    self.expr(&binary.rhs_expr, scope);
                }
            },
            Expression::ForExpr(for_expr) => {
                self.expr(&for_expr.collection_expr, scope);
                let mut inner = scope.to_vec();
                inner.extend(for_expr.key_var.iter().map(|k| k.as_str().to_owned()));
                inner.push(for_expr.value_var.as_str().to_owned());
                if let Some(key) = &for_expr.key_expr {
                    self.expr(key, &inner);
                }
                self.expr(&for_expr.value_expr, &inner);
                if let Some(cond) = &for_expr.cond_expr {
                    self.expr(cond, &inner);
                }
            }
            other => self.problem(format!("unsupported expression {other:?}")),
        }
    }

    fn template_expr(&mut self, template: &TemplateExpr, scope: &[String]) {
        match Template::from_expr(template) {
            Ok(template) => self.template(&template, scope),
            Err(error) => self.problem(format!("invalid template: {error}")),
        }
    }

    fn template(&mut self, template: &Template, scope: &[String]) {
        for element in template.elements() {
            match element {
                Element::Literal(_) => {}
                Element::Interpolation(interpolation) => self.expr(&interpolation.expr, scope),
                Element::Directive(directive) => match directive.as_ref() {
                    Directive::If(if_directive) => {
                        self.expr(&if_directive.cond_expr, scope);
                        self.template(&if_directive.true_template, scope);
                        if let Some(false_template) = &if_directive.false_template {
                            self.template(false_template, scope);
                        }
                    }
                    Directive::For(for_directive) => {
                        self.expr(&for_directive.collection_expr, scope);
                        let mut inner = scope.to_vec();
                        inner.extend(for_directive.key_var.iter().map(|k| k.as_str().to_owned()));
                        inner.push(for_directive.value_var.as_str().to_owned());
                        self.template(&for_directive.template, &inner);
                    }
                },
            }
        }
    }

    fn reference(&mut self, traversal: &hcl::expr::Traversal, scope: &[String]) {
        let Expression::Variable(base) = &traversal.expr else {
            return;
        };
        let base = base.as_str();
        let names: Vec<&str> = traversal
            .operators
            .iter()
            .map_while(|operator| match operator {
                TraversalOperator::GetAttr(name) => Some(name.as_str()),
                _ => None,
            })
            .collect();
        let first = names.first().copied();
        let declarations = self.declarations;
        match base {
            _ if scope.iter().any(|bound| bound == base) => {}
            "path" | "terraform" | "each" | "count" | "self" => {}
            "var" => match first {
                Some(name) if declarations.variables.contains(name) => {}
                _ => self.problem(format!("`var.{}` is not declared", first.unwrap_or("?"))),
            },
            "local" => match first {
                Some("xtask") if declarations.locals.contains("xtask") => {
                    self.xtask_key(&names[1..]);
                }
                Some(name) if declarations.locals.contains(name) => {}
                Some("xtask") => self.problem(format!(
                    "`local.xtask` is not declared: {GENERATED_LOCALS_FILE} is missing; run `cargo xtask gen-workflows`"
                )),
                _ => self.problem(format!("`local.{}` is not declared", first.unwrap_or("?"))),
            },
            "data" => {
                let address = names.iter().take(2).copied().collect::<Vec<_>>().join(".");
                if !declarations.data.contains(&address) {
                    self.problem(format!("`data.{address}` is not declared"));
                }
            }
            "module" => match first {
                Some(name) if declarations.modules.contains(name) => {}
                _ => self.problem(format!("`module.{}` is not declared", first.unwrap_or("?"))),
            },
            kind if kind.contains('_') => {
                let address = format!("{kind}.{}", first.unwrap_or("?"));
                if !declarations.resources.contains(&address) {
                    self.problem(format!("`{address}` is not a declared resource"));
                }
            }
            other => self.problem(format!("`{other}` is not declared")),
        }
    }

    /// `local.xtask.a.b`: each key must exist in the generated locals.
    fn xtask_key(&mut self, keys: &[&str]) {
        let Some(mut value) = self.declarations.xtask.as_ref() else {
            self.problem(format!(
                "`local.xtask` is used but {GENERATED_LOCALS_FILE} is missing; run `cargo xtask gen-workflows`"
            ));
            return;
        };
        let mut path = String::from("local.xtask");
        for key in keys {
            path.push('.');
            path.push_str(key);
            match value.as_object() {
                Some(object) => match object.get(*key) {
                    Some(next) => value = next,
                    None => {
                        self.problem(format!("`{path}` is not in {GENERATED_LOCALS_FILE}"));
                        return;
                    }
                },
                None => return,
            }
        }
    }

    fn file_use(&mut self, function: &str, args: &[Expression]) {
        let Some(raw) = args.first().and_then(static_path_text) else {
            self.problem(format!(
                "{function}() needs a literal path like \"${{path.module}}/...\""
            ));
            return;
        };
        let module = self.module_dir.to_string_lossy().into_owned();
        let resolved = raw.replace("${path.module}", &module);
        if resolved.contains("${") {
            self.problem(format!(
                "{function}(\"{raw}\"): only ${{path.module}} may be interpolated in a path"
            ));
            return;
        }
        let absolute = normalize(&if Path::new(&resolved).is_absolute() {
            PathBuf::from(&resolved)
        } else {
            self.module_dir.join(&resolved)
        });
        if !absolute.is_file() {
            self.problem(format!(
                "{function}(\"{raw}\"): {} does not exist",
                absolute.display()
            ));
        }
        let mut template_vars = BTreeMap::new();
        if function == "templatefile" {
            match args.get(1) {
                Some(Expression::Object(object)) => {
                    for (key, value) in object {
                        let name = match key {
                            ObjectKey::Identifier(identifier) => identifier.as_str().to_owned(),
                            ObjectKey::Expression(Expression::Variable(v)) => v.as_str().to_owned(),
                            ObjectKey::Expression(Expression::String(s)) => s.clone(),
                            other => format!("{other:?}"),
                        };
                        template_vars.insert(name, render_traversal(value));
                    }
                }
                _ => self.problem("templatefile() needs a literal object of variables".to_owned()),
            }
        }
        let relative = absolute
            .strip_prefix(normalize(self.env_dir))
            .map(Path::to_path_buf)
            .unwrap_or(absolute);
        self.report.file_uses.push(FileUse {
            path: relative,
            function: function.to_owned(),
            address: self.address.clone(),
            attribute: self.attribute.clone(),
            template_vars,
        });
    }
}

fn static_path_text(expr: &Expression) -> Option<String> {
    match expr {
        Expression::String(text) => Some(text.clone()),
        Expression::TemplateExpr(template) => match template.as_ref() {
            TemplateExpr::QuotedString(text) => Some(text.clone()),
            TemplateExpr::Heredoc(_) => None,
        },
        _ => None,
    }
}

/// `var.external_ids.plan` for a plain traversal; the debug form otherwise.
fn render_traversal(expr: &Expression) -> String {
    if let Expression::Traversal(traversal) = expr
        && let Expression::Variable(base) = &traversal.expr
    {
        let mut out = base.as_str().to_owned();
        for operator in &traversal.operators {
            match operator {
                TraversalOperator::GetAttr(name) => {
                    out.push('.');
                    out.push_str(name.as_str());
                }
                other => out.push_str(&format!("[{other:?}]")),
            }
        }
        return out;
    }
    format!("{expr:?}")
}

/// Lexical normalization (`a/./b/../c` -> `a/c`); the paths may not exist.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Where each generated file must be read, and with which template variables.
struct Expectation {
    function: &'static str,
    address: String,
    attribute: &'static str,
    template_vars: BTreeMap<String, String>,
}

fn expectations() -> BTreeMap<PathBuf, Expectation> {
    let mut map = BTreeMap::new();
    for role in ROLE_KEYS {
        let resource = role.replace('-', "_");
        let chained = CHAINED_ROLES.contains(&role);
        map.insert(
            PathBuf::from(format!("generated/iam/{role}.trust.json")),
            Expectation {
                function: if chained { "templatefile" } else { "file" },
                address: format!("aws_iam_role.{resource}"),
                attribute: "assume_role_policy",
                template_vars: if chained {
                    BTreeMap::from([(
                        "external_id".to_owned(),
                        format!("var.external_ids.{resource}"),
                    )])
                } else {
                    BTreeMap::new()
                },
            },
        );
        if !TRUST_ONLY_ROLES.contains(&role) {
            map.insert(
                PathBuf::from(format!("generated/iam/{role}.policy.json")),
                Expectation {
                    function: "file",
                    address: format!("aws_iam_role_policy.{resource}"),
                    attribute: "policy",
                    template_vars: BTreeMap::new(),
                },
            );
        }
    }
    map.insert(
        PathBuf::from("generated/iam/workload-boundary.policy.json"),
        Expectation {
            function: "templatefile",
            address: "aws_iam_policy.workload_boundary".to_owned(),
            attribute: "policy",
            template_vars: BTreeMap::from([(
                "notification_secret_name".to_owned(),
                "var.notification_secret_name".to_owned(),
            )]),
        },
    );
    map.insert(
        PathBuf::from("generated/sfn/migrate.asl.json"),
        Expectation {
            function: "templatefile",
            address: "aws_sfn_state_machine.migration".to_owned(),
            attribute: "definition",
            template_vars: BTreeMap::from([(
                "migration_security_group_id".to_owned(),
                "aws_security_group.migration.id".to_owned(),
            )]),
        },
    );
    map
}

/// Files under generated/ that no `.tf` reads, on purpose.
const NOT_READ_BY_TERRAFORM: [&str; 2] = ["generated/README.md", "generated/backend.tfbackend"];

fn check_generated_files(env_dir: &Path, report: &mut Report) {
    let generated_dir = env_dir.join("generated");
    let mut present = Vec::new();
    list_files(&generated_dir, &mut present);
    let present: BTreeSet<PathBuf> = present
        .into_iter()
        .filter_map(|p| p.strip_prefix(env_dir).ok().map(Path::to_path_buf))
        .collect();
    if present.is_empty() {
        report.problems.push(format!(
            "{}: no generated files; run `cargo xtask gen-workflows`",
            generated_dir.display()
        ));
    }
    let expectations = expectations();
    for required in NOT_READ_BY_TERRAFORM
        .iter()
        .map(PathBuf::from)
        .chain(expectations.keys().cloned())
    {
        if !present.contains(&required) {
            report.problems.push(format!(
                "{}: missing (the contract with `cargo xtask gen-workflows` requires it)",
                required.display()
            ));
        }
    }
    for file in &present {
        let uses: Vec<&FileUse> = report
            .file_uses
            .iter()
            .filter(|u| &u.path == file)
            .collect();
        if NOT_READ_BY_TERRAFORM.iter().any(|p| Path::new(p) == file) {
            if !uses.is_empty() {
                report.problems.push(format!(
                    "{}: read by Terraform at {}, but it is not meant to be",
                    file.display(),
                    uses[0].address
                ));
            }
            continue;
        }
        let Some(expected) = expectations.get(file) else {
            report.problems.push(format!(
                "{}: orphaned generated file (no contract says where Terraform reads it)",
                file.display()
            ));
            continue;
        };
        match uses.as_slice() {
            [] => report.problems.push(format!(
                "{}: generated but never read; expected {}() in {}.{}",
                file.display(),
                expected.function,
                expected.address,
                expected.attribute
            )),
            [one] => {
                if one.function != expected.function
                    || one.address != expected.address
                    || one.attribute != expected.attribute
                {
                    report.problems.push(format!(
                        "{}: read with {}() in {}.{}; expected {}() in {}.{}",
                        file.display(),
                        one.function,
                        one.address,
                        one.attribute,
                        expected.function,
                        expected.address,
                        expected.attribute
                    ));
                }
                if one.template_vars != expected.template_vars {
                    report.problems.push(format!(
                        "{}: template variables {:?}; expected {:?}",
                        file.display(),
                        one.template_vars,
                        expected.template_vars
                    ));
                }
            }
            many => report.problems.push(format!(
                "{}: read {} times ({}); a generated policy is used exactly once",
                file.display(),
                many.len(),
                many.iter()
                    .map(|u| u.address.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
        check_generated_content(env_dir, file, expected, report);
    }
}

/// The placeholders a file contains must be exactly the variables Terraform passes (a stray
/// `${aws:username}` would be swallowed by templatefile), and the file must be JSON once rendered.
fn check_generated_content(
    env_dir: &Path,
    file: &Path,
    expected: &Expectation,
    report: &mut Report,
) {
    let Ok(text) = std::fs::read_to_string(env_dir.join(file)) else {
        report
            .problems
            .push(format!("{}: cannot read", file.display()));
        return;
    };
    let placeholder = regex::Regex::new(r"\$\{([^}]*)\}").expect("valid regex");
    let found: BTreeSet<String> = placeholder
        .captures_iter(&text)
        .map(|c| c[1].to_owned())
        .collect();
    let wanted: BTreeSet<String> = expected.template_vars.keys().cloned().collect();
    if found != wanted {
        report.problems.push(format!(
            "{}: contains placeholders {found:?}; Terraform passes {wanted:?}",
            file.display()
        ));
    }
    if expected.function == "templatefile" && text.contains("%{") {
        report.problems.push(format!(
            "{}: contains `%{{`, a template directive for templatefile(); escape it as `%%{{`",
            file.display()
        ));
    }
    let rendered = placeholder.replace_all(&text, "placeholder-value");
    match serde_json::from_str::<serde_json::Value>(&rendered) {
        Ok(value) => {
            let is_policy = file.starts_with("generated/iam");
            if is_policy
                && (value["Version"] != "2012-10-17"
                    || value["Statement"].as_array().is_none_or(Vec::is_empty))
            {
                report.problems.push(format!(
                    "{}: not an IAM policy (Version 2012-10-17 and a non-empty Statement)",
                    file.display()
                ));
            }
            if !is_policy && (value["StartAt"].as_str().is_none() || !value["States"].is_object()) {
                report.problems.push(format!(
                    "{}: not a state machine definition (StartAt and States)",
                    file.display()
                ));
            }
        }
        Err(error) => report.problems.push(format!(
            "{}: not valid JSON once rendered: {error}",
            file.display()
        )),
    }
}

/// The root module's backend is the partial `backend "s3" {}` completed by the generated
/// `backend.tfbackend`, which must turn on S3-native locking.
fn check_backend(env_dir: &Path, report: &mut Report) {
    check_partial_backend_block(env_dir, report);
    let path = env_dir.join("generated/backend.tfbackend");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return; // reported as missing above
    };
    match hcl::parse(&text) {
        Ok(body) => {
            let attributes: BTreeMap<&str, &Expression> =
                body.attributes().map(|a| (a.key(), a.expr())).collect();
            for key in ["bucket", "key", "region", "profile"] {
                if !matches!(attributes.get(key), Some(Expression::String(_))) {
                    report
                        .problems
                        .push(format!("{}: `{key}` must be a string", path.display()));
                }
            }
            if !matches!(attributes.get("use_lockfile"), Some(Expression::Bool(true))) {
                report.problems.push(format!(
                    "{}: `use_lockfile = true` is required",
                    path.display()
                ));
            }
        }
        Err(error) => report
            .problems
            .push(format!("{}: HCL parse error: {error}", path.display())),
    }
}

fn list_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            list_files(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// Writes contract-shaped generated files (what `cargo xtask gen-workflows` promises) into
/// `env`, so the checker can be exercised without the generator. Not a substitute for the
/// generator's own output, which `every_environment_is_consistent_with_its_generated_files` checks.
pub fn write_stand_in_generated_files(env: &Path) {
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    let chained = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:role/entry"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"${external_id}"}}}]}"#;
    std::fs::create_dir_all(env.join("generated/iam")).unwrap();
    std::fs::create_dir_all(env.join("generated/sfn")).unwrap();
    for role in ROLE_KEYS {
        let trust_text = if CHAINED_ROLES.contains(&role) {
            chained
        } else {
            trust
        };
        std::fs::write(
            env.join(format!("generated/iam/{role}.trust.json")),
            trust_text,
        )
        .unwrap();
        if !TRUST_ONLY_ROLES.contains(&role) {
            std::fs::write(
                env.join(format!("generated/iam/{role}.policy.json")),
                policy,
            )
            .unwrap();
        }
    }
    std::fs::write(
        env.join("generated/iam/workload-boundary.policy.json"),
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:${notification_secret_name}-??????"}]}"#,
    )
    .unwrap();
    std::fs::write(
            env.join("generated/sfn/migrate.asl.json"),
            r#"{"QueryLanguage":"JSONata","StartAt":"RunMigration","States":{"RunMigration":{"Type":"Task","Resource":"arn:aws:states:::ecs:runTask.sync","Arguments":{"NetworkConfiguration":{"AwsvpcConfiguration":{"SecurityGroups":["${migration_security_group_id}"]}},"TaskDefinition":"{% $states.input.task_definition %}"},"End":true}}}"#,
        )
        .unwrap();
    std::fs::write(env.join("generated/README.md"), "Generated.\n").unwrap();
    std::fs::write(
            env.join("generated/backend.tfbackend"),
            "bucket       = \"b\"\nkey          = \"k\"\nregion       = \"ap-northeast-1\"\nprofile      = \"dev-terraform-backend\"\nuse_lockfile = true\n",
        )
        .unwrap();
    let roles: serde_json::Map<String, serde_json::Value> = ROLE_KEYS
        .iter()
        .map(|r| {
            (
                r.replace('-', "_"),
                serde_json::Value::from(format!("role-{r}")),
            )
        })
        .collect();
    let locals = serde_json::json!({"locals": {"xtask": {
        "account_id": "123456789012", "region": "ap-northeast-1", "environment": "dev",
        "github_owner": "o", "github_repo": "r", "github_environment": "dev",
        "state_bucket": "b", "state_key": "k", "roles": roles,
        "boundary_policy": "dev-xtask-workload-boundary",
        "managed_tag": {"key": "xtask-managed-by", "value": "o/r/dev"},
        "ecr_repository": "dev/db-migrate", "ecs_cluster": "c", "task_family": "f",
        "container_name": "n", "state_machine": "s", "log_group": "/ecs/x",
        "notifier_function": "fn", "database_secret": "sec", "subnets": ["subnet-1"],
        "security_groups": [], "assign_public_ip": false,
        "profiles": {"backend": "dev-terraform-backend", "deploy": "dev-terraform-deploy"}
    }}});
    std::fs::write(env.join(GENERATED_LOCALS_FILE), locals.to_string()).unwrap();
}

/// The root module declares `backend "s3" {}` and nothing else in it: every backend setting comes
/// from the generated file, so none is written twice.
fn check_partial_backend_block(env_dir: &Path, report: &mut Report) {
    let mut backends = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(env_dir)
        .map(|entries| entries.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    for path in files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "tf"))
    {
        let Some(body) = std::fs::read_to_string(path)
            .ok()
            .and_then(|t| hcl::parse(&t).ok())
        else {
            continue; // reported by check_module
        };
        for terraform in body.blocks().filter(|b| b.identifier() == "terraform") {
            for backend in terraform
                .body()
                .blocks()
                .filter(|b| b.identifier() == "backend")
            {
                let kind = label(backend, 0).unwrap_or("").to_owned();
                backends.push((kind, backend.body().iter().count()));
            }
        }
    }
    match backends.as_slice() {
        [(kind, 0)] if kind == "s3" => {}
        [(kind, _)] if kind == "s3" => report.problems.push(format!(
            "{}: backend \"s3\" must be empty (partial): its settings come from generated/backend.tfbackend",
            env_dir.display()
        )),
        other => report.problems.push(format!(
            "{}: expected exactly one `backend \"s3\" {{}}` in the root module, found {other:?}",
            env_dir.display()
        )),
    }
}
