//! Labels of issues and pull requests, created in the repository when missing.

use super::GitHub;
use super::error::api_status;
use super::transport::{PER_PAGE, Replay, ignore_not_found};

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
        let labels = self
            .all_pages(&format!("listing the labels of #{issue}"), async || {
                self.issues()
                    .list_labels_for_issue(issue)
                    .per_page(PER_PAGE)
                    .send()
                    .await
            })
            .await?;
        Ok(labels.into_iter().map(|label| label.name).collect())
    }

    /// Creates the label in the repository unless it exists.
    pub async fn ensure_label(&self, label: &Label) -> anyhow::Result<()> {
        // Octocrab puts the name into the path as it is; ours may hold a `/` (`dev/drift`).
        let encoded = crate::percent::encode_segment(&label.name);
        let lookup = self
            .call(
                &format!("looking up label `{}`", label.name),
                Replay::Idempotent,
                async || self.issues().get_label(&encoded).await,
            )
            .await;
        match lookup {
            Ok(_) => return Ok(()),
            Err(error) if api_status(&error) == Some(404) => {}
            Err(error) => return Err(error),
        }
        // A second create of the same label answers 422, handled below: safe to send again.
        let created = self
            .call(
                &format!("creating label `{}`", label.name),
                Replay::Idempotent,
                async || {
                    self.issues()
                        .create_label(&label.name, &label.color, &label.description)
                        .await
                },
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
        let names: Vec<String> = labels.iter().map(|label| label.name.clone()).collect();
        // Adding a label the issue already has changes nothing: safe to send again.
        self.call(
            &format!("adding labels {} to #{issue}", names.join(", ")),
            Replay::Idempotent,
            async || self.issues().add_labels(issue, &names).await,
        )
        .await?;
        Ok(())
    }

    /// Removes a label from an issue; a label that is not there counts as removed.
    pub async fn remove_label(&self, issue: u64, name: &str) -> anyhow::Result<()> {
        let result = self
            .call(
                &format!("removing label `{name}` from #{issue}"),
                Replay::Idempotent,
                async || self.issues().remove_label(issue, name).await.map(drop),
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
