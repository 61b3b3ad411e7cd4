<% out.println("pay"); %>
