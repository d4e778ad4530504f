#!/bin/sh
echo feature installed
