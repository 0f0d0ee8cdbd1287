//! Pulls the `Error:` blocks out of terraform's output for the failure comment.

/// The diagnostic blocks (`╷ … ╵`) that hold an `Error:`, with the box drawing removed; or the
/// last lines of the output when there are none.
pub fn error_blocks(output: &str) -> String {
    let mut blocks = Vec::new();
    let mut current: Option<Vec<String>> = None;
    for line in output.lines() {
        let trimmed = line.trim_end();
        if trimmed.starts_with('╷') {
            current = Some(Vec::new());
        } else if trimmed.starts_with('╵') {
            if let Some(block) = current.take()
                && block.iter().any(|l| l.starts_with("Error:"))
            {
                blocks.push(block.join("\n").trim().to_owned());
            }
        } else if let Some(block) = current.as_mut() {
            let text = trimmed
                .strip_prefix("│ ")
                .or_else(|| trimmed.strip_prefix('│'))
                .unwrap_or(trimmed);
            block.push(text.to_owned());
        }
    }
    if blocks.is_empty() {
        // Without a terminal, terraform prints diagnostics unboxed: from each `Error:` line to
        // the next warning (or the end).
        let mut unboxed: Option<Vec<&str>> = None;
        for line in output.lines() {
            if line.starts_with("Error: ") {
                if let Some(block) = unboxed.take() {
                    blocks.push(block.join("\n").trim().to_owned());
                }
                unboxed = Some(vec![line]);
            } else if line.starts_with("Warning: ") {
                if let Some(block) = unboxed.take() {
                    blocks.push(block.join("\n").trim().to_owned());
                }
            } else if let Some(block) = unboxed.as_mut() {
                block.push(line.trim_end());
            }
        }
        if let Some(block) = unboxed {
            blocks.push(block.join("\n").trim().to_owned());
        }
    }
    if blocks.is_empty() {
        let lines: Vec<&str> = output.lines().collect();
        let start = lines.len().saturating_sub(40);
        return lines[start..].join("\n");
    }
    blocks.join("\n\n")
}

/// A hint for failures with a known fix.
pub fn hint_for(errors: &str) -> Option<&'static str> {
    if errors.contains("Error acquiring the state lock") {
        Some(
            "Another run holds the state lock. Wait for it to finish; if it crashed, check the lock \
             info above and run `terraform force-unlock <ID>` from a shell with the backend role.",
        )
    } else if errors.contains("No valid credential sources")
        || errors.contains("failed to refresh cached credentials")
        || errors.contains("AssumeRole")
    {
        Some(
            "Terraform could not get AWS credentials for the backend. In CI check the OIDC step and \
             the external id secrets; locally run `cargo xtask aws-profiles --env <env> --purpose plan`.",
        )
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extracts_boxed_errors_only() {
        let output = "╷\n│ Warning: Deprecated\n│ \n│ old\n╵\n╷\n│ Error: Unsupported argument\n│ \n│   on main.tf line 3:\n│    3:   foo = 1\n╵\n";
        assert_eq!(
            error_blocks(output),
            "Error: Unsupported argument\n\n  on main.tf line 3:\n   3:   foo = 1"
        );
        let unboxed =
            "Warning: old\n\nx\nError: Error acquiring the state lock\n\nLock Info:\n  ID: 1\n";
        assert_eq!(
            error_blocks(unboxed),
            "Error: Error acquiring the state lock\n\nLock Info:\n  ID: 1"
        );
    }
}
