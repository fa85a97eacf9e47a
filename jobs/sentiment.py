"""spark-submit entry point: see `./spark-submit.sh sentiment --help`."""

from lakecart.jobs.sentiment import main

if __name__ == "__main__":
    main()
