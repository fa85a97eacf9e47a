"""spark-submit entry point: see `./spark-submit.sh pipeline --help`."""

from lakecart.jobs.pipeline import main

if __name__ == "__main__":
    main()
