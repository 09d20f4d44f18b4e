"""Entry point of the dbt child process of `medcom build --engine spark`.

With method session it starts the Spark session first (local mode, or Spark Connect when
MEDCOM_SPARK_REMOTE is set) so that dbt-spark's `getOrCreate()` picks up medcom's settings;
Spark's own log (the JVM writes to stderr) goes to MEDCOM_SPARK_LOG, so stdout carries only
dbt's JSON log lines.
"""

import os
import sys


def _redirect_stderr(path: str) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 2)
    os.close(fd)


def start_session():
    from pyspark.sql import SparkSession

    remote = os.environ.get("MEDCOM_SPARK_REMOTE")
    if remote:
        os.environ["SPARK_REMOTE"] = remote
        return SparkSession.builder.remote(remote).getOrCreate()
    b = (
        SparkSession.builder.master(os.environ.get("MEDCOM_SPARK_MASTER", "local[2]"))
        .appName("medcom build")
        .config("spark.sql.catalogImplementation", "in-memory")
        .config("spark.sql.warehouse.dir", os.environ["MEDCOM_SPARK_WAREHOUSE"])
        .config("spark.ui.enabled", "false")
        .config("spark.driver.memory", os.environ.get("MEDCOM_SPARK_DRIVER_MEMORY", "2g"))
        .config("spark.sql.shuffle.partitions", os.environ.get("MEDCOM_SPARK_SHUFFLE_PARTITIONS", "4"))
        .config("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.ansi.enabled", "false")
        .config("spark.driver.extraJavaOptions", f"-Djava.io.tmpdir={os.environ['MEDCOM_SPARK_WAREHOUSE']}/../tmp")
    )
    for kv in filter(None, (os.environ.get("MEDCOM_SPARK_CONF") or "").split(",")):
        k, _, v = kv.partition("=")
        b = b.config(k.strip(), v.strip())
    spark = b.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


if __name__ == "__main__":
    _redirect_stderr(os.environ["MEDCOM_SPARK_LOG"])
    if os.environ.get("MEDCOM_SPARK_METHOD", "session") == "session":
        os.makedirs(os.environ["MEDCOM_SPARK_WAREHOUSE"] + "/../tmp", exist_ok=True)
        start_session()
    from dbt.cli.main import dbtRunner

    res = dbtRunner().invoke(sys.argv[1:])
    sys.exit(0 if res.success else (1 if res.exception is None else 2))
