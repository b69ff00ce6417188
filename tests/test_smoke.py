def test_registry_page_lists_table1(client, table1):
    response = client.get("/")
    assert response.status_code == 200
    assert b"Austrian Cluster for Tissue Regeneration" in response.data
