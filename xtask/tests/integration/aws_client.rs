//! The AWS JSON client (`xtask::aws::JsonClient`) against a local stand-in: what it retries and
//! what it does not, as the SDK's standard retry strategy decides.

use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_types::SdkConfig;
use aws_types::region::Region;
use serde_json::json;
use wiremock::matchers::{header, method};
use wiremock::{Mock, MockServer, ResponseTemplate};
use xtask::aws::JsonClient;
use xtask::aws::ecs::DescribeTasks;

const TARGET: &str = "AmazonEC2ContainerServiceV20141113.DescribeTasks";

fn client(server: &MockServer) -> JsonClient {
    let config = SdkConfig::builder()
        .region(Region::new("ap-northeast-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "AKIDEXAMPLE",
            "secret",
            None,
            None,
            "test",
        )))
        .endpoint_url(server.uri())
        .build();
    JsonClient::new(&config).unwrap()
}

fn request() -> DescribeTasks {
    DescribeTasks {
        cluster: "dev".to_owned(),
        tasks: vec!["arn:aws:ecs:ap-northeast-1:123456789012:task/dev/abc".to_owned()],
    }
}

fn error(code: &str, status: u16) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_json(json!({"__type": code, "message": format!("{code} from the stand-in")}))
}

async fn answers(server: &MockServer, first: ResponseTemplate, times: u64) {
    Mock::given(method("POST"))
        .and(header("x-amz-target", TARGET))
        .respond_with(first)
        .up_to_n_times(times)
        .expect(times)
        .with_priority(1)
        .mount(server)
        .await;
}

async fn then_succeeds(server: &MockServer, expect: u64) {
    Mock::given(method("POST"))
        .and(header("x-amz-target", TARGET))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"tasks": [], "failures": []})),
        )
        .expect(expect)
        .with_priority(2)
        .mount(server)
        .await;
}

#[tokio::test]
async fn throttling_and_transient_errors_are_retried() {
    for (code, status) in [
        ("ThrottlingException", 400),
        ("ServerException", 500),
        ("ServiceUnavailableException", 503),
    ] {
        let server = MockServer::start().await;
        answers(&server, error(code, status), 2).await;
        then_succeeds(&server, 1).await;
        let answer = client(&server).call(&request()).await;
        assert!(answer.is_ok(), "{code}: {answer:?}");
        server.verify().await;
    }
}

#[tokio::test]
async fn retries_stop_after_three_attempts() {
    let server = MockServer::start().await;
    answers(&server, error("ThrottlingException", 400), 3).await;
    then_succeeds(&server, 0).await;
    let error = client(&server).call(&request()).await.unwrap_err();
    assert!(
        format!("{error:#}").contains("HTTP 400 ThrottlingException"),
        "{error:#}"
    );
    server.verify().await;
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let server = MockServer::start().await;
    answers(&server, error("ClientException", 400), 1).await;
    then_succeeds(&server, 0).await;
    let error = client(&server).call(&request()).await.unwrap_err();
    assert!(
        format!("{error:#}").contains("ECS DescribeTasks failed: HTTP 400 ClientException"),
        "{error:#}"
    );
    server.verify().await;
}
