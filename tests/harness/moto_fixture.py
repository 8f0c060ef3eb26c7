"""S3 + DynamoDB set-up and read-back for the state-machine harness, against moto.

Driven by tests/state_machine_harness.rs (boto3 keeps the Rust root package free of AWS
SDK dev-dependencies, so `cargo test` stays quick). The bucket and table are created from
template.yaml's own `ArtifactBucket` / `RunTable` definitions, so the harness also checks
that the deployed table has the keys and index the DynamoDB run store relies on.

    python3 moto_fixture.py provision ENDPOINT BUCKET TABLE TEMPLATE [KEY=FILE ...]
    python3 moto_fixture.py get-object ENDPOINT BUCKET KEY OUT_FILE
    python3 moto_fixture.py download ENDPOINT BUCKET PREFIX OUT_DIR   (every object under PREFIX; prints the keys)
    python3 moto_fixture.py get-meta ENDPOINT TABLE RUN_ID     (prints the META item as JSON)
"""

import json
import os
import sys

import boto3
import yaml

REGION = "us-east-1"


class _CfnLoader(yaml.SafeLoader):
    """YAML loader that keeps CloudFormation short-form tags (!Ref, !GetAtt, !Sub ...)."""


_CfnLoader.add_multi_constructor(
    "!", lambda loader, suffix, node: {suffix: loader.construct_yaml_str(node)}
    if isinstance(node, yaml.ScalarNode)
    else {suffix: loader.construct_sequence(node) if isinstance(node, yaml.SequenceNode) else loader.construct_mapping(node)}
)


def client(service, endpoint):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def provision(endpoint, bucket, table, template_path, uploads):
    with open(template_path, encoding="utf-8") as f:
        resources = yaml.load(f, Loader=_CfnLoader)["Resources"]
    props = resources["RunTable"]["Properties"]

    s3 = client("s3", endpoint)
    s3.create_bucket(Bucket=bucket)
    if resources["ArtifactBucket"]["Properties"]["VersioningConfiguration"]["Status"] == "Enabled":
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})

    ddb = client("dynamodb", endpoint)
    # The CloudFormation properties of these three are the CreateTable API's shapes.
    ddb.create_table(
        TableName=table,
        AttributeDefinitions=props["AttributeDefinitions"],
        KeySchema=props["KeySchema"],
        GlobalSecondaryIndexes=props["GlobalSecondaryIndexes"],
        BillingMode=props["BillingMode"],
    )
    ddb.get_waiter("table_exists").wait(TableName=table)
    ttl = props["TimeToLiveSpecification"]
    ddb.update_time_to_live(
        TableName=table,
        TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": ttl["Enabled"]},
    )

    for pair in uploads:
        key, path = pair.split("=", 1)
        with open(path, "rb") as f:
            s3.put_object(Bucket=bucket, Key=key, Body=f.read())


def get_object(endpoint, bucket, key, out_file):
    body = client("s3", endpoint).get_object(Bucket=bucket, Key=key)["Body"].read()
    with open(out_file, "wb") as f:
        f.write(body)


def download(endpoint, bucket, prefix, out_dir):
    """Copy every object under PREFIX to OUT_DIR/<key>; print the keys as a JSON list."""
    s3 = client("s3", endpoint)
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            path = os.path.join(out_dir, obj["Key"])
            os.makedirs(os.path.dirname(path), exist_ok=True)
            get_object(endpoint, bucket, obj["Key"], path)
            keys.append(obj["Key"])
    print(json.dumps(sorted(keys)))


def get_meta(endpoint, table, run_id):
    item = client("dynamodb", endpoint).get_item(
        TableName=table,
        Key={"PK": {"S": f"RUN#{run_id}"}, "SK": {"S": "META"}},
        ConsistentRead=True,
    ).get("Item")
    print(json.dumps(item))


def main(argv):
    command, args = argv[1], argv[2:]
    if command == "provision":
        provision(args[0], args[1], args[2], args[3], args[4:])
    elif command == "get-object":
        get_object(*args)
    elif command == "download":
        download(*args)
    elif command == "get-meta":
        get_meta(*args)
    else:
        raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    main(sys.argv)
