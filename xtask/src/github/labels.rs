//! Labels of issues and pull requests, created in the repository when missing.

use serde_json::json;

use super::GitHub;
use super::error::api_status;
use super::transport::{Method, Replay, ignore_not_found};

/// A label to put on an issue, created in the repository when it does not exist yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    pub name: String,
    /// Six hex digits, no `#`.
    pub color: String,
    pub description: String,
}

impl GitHub {
    /// The names of the labels on an issue or pull request.
    pub async fn list_issue_labels(&self, issue: u64) -> anyhow::Result<Vec<String>> {
        let labels: Vec<octocrab::models::Label> = self
            .get_all(
                &format!("listing the labels of #{issue}"),
                &self.repo_path(&format!("issues/{issue}/labels")),
            )
            .await?;
        Ok(labels.into_iter().map(|label| label.name).collect())
    }

    /// Creates the label in the repository unless it exists.
    pub async fn ensure_label(&self, label: &Label) -> anyhow::Result<()> {
        let lookup = self
            .request(
                &format!("looking up label `{}`", label.name),
                Method::Get,
                &self.repo_path(&format!(
                    "labels/{}",
                    crate::percent::encode_segment(&label.name)
                )),
                None,
            )
            .await;
        match lookup {
            Ok(_) => return Ok(()),
            Err(error) if api_status(&error) == Some(404) => {}
            Err(error) => return Err(error),
        }
        // A second create of the same label answers 422, handled below: safe to send again.
        let created = self
            .send(
                &format!("creating label `{}`", label.name),
                Method::Post,
                &self.repo_path("labels"),
                Some(&json!({
                    "name": label.name,
                    "color": label.color,
                    "description": label.description,
                })),
                Replay::Idempotent,
            )
            .await;
        match created {
            // Another job created it between our two calls.
            Err(error) if api_status(&error) == Some(422) => Ok(()),
            other => other.map(|_| ()),
        }
    }

    /// Adds labels to an issue or pull request, creating missing ones in the repository first.
    pub async fn add_labels(&self, issue: u64, labels: &[Label]) -> anyhow::Result<()> {
        if labels.is_empty() {
            return Ok(());
        }
        for label in labels {
            self.ensure_label(label).await?;
        }
        let names: Vec<&str> = labels.iter().map(|label| label.name.as_str()).collect();
        // Adding a label the issue already has changes nothing: safe to send again.
        self.send(
            &format!("adding labels {} to #{issue}", names.join(", ")),
            Method::Post,
            &self.repo_path(&format!("issues/{issue}/labels")),
            Some(&json!({ "labels": names })),
            Replay::Idempotent,
        )
        .await?;
        Ok(())
    }

    /// Removes a label from an issue; a label that is not there counts as removed.
    pub async fn remove_label(&self, issue: u64, name: &str) -> anyhow::Result<()> {
        let result = self
            .request(
                &format!("removing label `{name}` from #{issue}"),
                Method::Delete,
                &self.repo_path(&format!(
                    "issues/{issue}/labels/{}",
                    crate::percent::encode_segment(name)
                )),
                None,
            )
            .await;
        ignore_not_found(result)
    }

    /// Makes the issue carry `wanted` and none of the other `managed` labels; labels outside
    /// `managed` are left alone.
    pub async fn sync_labels(
        &self,
        issue: u64,
        wanted: &[Label],
        managed: &[String],
    ) -> anyhow::Result<()> {
        let current = self.list_issue_labels(issue).await?;
        let missing: Vec<Label> = wanted
            .iter()
            .filter(|label| !current.contains(&label.name))
            .cloned()
            .collect();
        self.add_labels(issue, &missing).await?;
        for name in managed {
            let keep = wanted.iter().any(|label| &label.name == name);
            if !keep && current.contains(name) {
                self.remove_label(issue, name).await?;
            }
        }
        Ok(())
    }
}
